-- The optional operations of a pool's backend, MariaDB/MySQL flavour: keep in step with
-- 00011_pool_operations.sqlite.sql.
-- pools.operations is the comma list of the operations (snapshot, create_from_snapshot, clone,
-- extend, revert) the backend's last capability report says it supports; '' none; NULL unknown
-- (a report from a service that does not say), which the API treats as allowed.
-- +goose Up
ALTER TABLE pools ADD COLUMN operations VARCHAR(255) NULL;

-- +goose Down
ALTER TABLE pools DROP COLUMN operations;

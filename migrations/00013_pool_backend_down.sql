-- Pools whose backend reports itself down (both dialects).
-- pools.backend_down is 1 while the backend's last capability report says backend_state
-- 'down': its driver could not read the storage (a Ceph cluster unreachable, a directory
-- gone). Such a report carries no capacity ('unknown'), so the figures of the last good report
-- are kept, and no claim is taken on the pool — no placement, no extend — until a report says
-- up again.
-- +goose Up
ALTER TABLE pools ADD COLUMN backend_down TINYINT(1) NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE pools DROP COLUMN backend_down;

-- Backup and restore progress (issue 18): the percent of the volume a running backup or
-- restore of the backup has read or written, which the backup service keeps up to date and
-- the API shows on request (Cinder has no such column). One file for both dialects.
-- +goose Up
ALTER TABLE backups ADD COLUMN progress INT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE backups DROP COLUMN progress;

-- A driver's own data about its volumes and snapshots (both dialects).
-- provider_location, provider_auth and provider_id are Cinder's columns of the same names on
-- volumes and snapshots (VARCHAR(255), nullable): what a driver returned when it made the
-- object (pkg/driver.Data: where it put it, the credentials an attach needs, the backend's
-- own id). The volume service writes them in the update that makes the object available and
-- hands them back to the driver on every later call. NULL: the driver returned nothing.
-- +goose Up
ALTER TABLE volumes ADD COLUMN provider_location VARCHAR(255) NULL;
ALTER TABLE volumes ADD COLUMN provider_auth VARCHAR(255) NULL;
ALTER TABLE volumes ADD COLUMN provider_id VARCHAR(255) NULL;
ALTER TABLE snapshots ADD COLUMN provider_location VARCHAR(255) NULL;
ALTER TABLE snapshots ADD COLUMN provider_auth VARCHAR(255) NULL;
ALTER TABLE snapshots ADD COLUMN provider_id VARCHAR(255) NULL;

-- +goose Down
ALTER TABLE snapshots DROP COLUMN provider_id;
ALTER TABLE snapshots DROP COLUMN provider_auth;
ALTER TABLE snapshots DROP COLUMN provider_location;
ALTER TABLE volumes DROP COLUMN provider_id;
ALTER TABLE volumes DROP COLUMN provider_auth;
ALTER TABLE volumes DROP COLUMN provider_location;

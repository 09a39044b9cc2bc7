-- Volume backups (issue 18), one file for both dialects.
-- As Cinder's backups table: every column of it, soft-deleted like Cinder's rows. volume_id
-- has no foreign key: a backup outlives its volume, and an imported backup names Cinder's
-- placeholder volume 00000000-0000-0000-0000-000000000000. num_dependent_backups counts the
-- live (not deleted) backups whose parent_id is this one, whatever their status (package db
-- keeps it in the transactions that create and destroy them). Metadata is keyed by
-- (backup_id, key) as snapshot_metadata is, rather than Cinder's soft-deleted rows with an
-- id of their own.
-- volumes.previous_status is Cinder's column: the status a volume had before backing-up, to
-- which the end of the backup (or the recovery of a killed one) puts it back.
-- +goose Up
CREATE TABLE backups (
    id                    VARCHAR(36)  NOT NULL,
    volume_id             VARCHAR(36)  NOT NULL,
    user_id               VARCHAR(255) NULL,
    project_id            VARCHAR(255) NOT NULL,
    host                  VARCHAR(255) NULL,
    availability_zone     VARCHAR(255) NULL,
    display_name          VARCHAR(255) NULL,
    display_description   VARCHAR(255) NULL,
    container             VARCHAR(255) NULL,
    status                VARCHAR(255) NOT NULL,
    fail_reason           VARCHAR(255) NULL,
    service_metadata      VARCHAR(255) NULL,
    service               VARCHAR(255) NULL,
    size                  INT          NOT NULL DEFAULT 0,
    object_count          INT          NOT NULL DEFAULT 0,
    parent_id             VARCHAR(36)  NULL,
    temp_volume_id        VARCHAR(36)  NULL,
    temp_snapshot_id      VARCHAR(36)  NULL,
    num_dependent_backups INT          NOT NULL DEFAULT 0,
    snapshot_id           VARCHAR(36)  NULL,
    data_timestamp        DATETIME(6)  NULL,
    restore_volume_id     VARCHAR(36)  NULL,
    encryption_key_id     VARCHAR(36)  NULL,
    created_at            DATETIME(6)  NOT NULL,
    updated_at            DATETIME(6)  NULL,
    deleted_at            DATETIME(6)  NULL,
    deleted               TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE INDEX backups_deleted_project_id_idx ON backups (deleted, project_id);
CREATE INDEX backups_project_id_deleted_created_at_idx ON backups (project_id, deleted, created_at);
CREATE INDEX backups_volume_id_deleted_idx ON backups (volume_id, deleted);
CREATE INDEX backups_parent_id_deleted_idx ON backups (parent_id, deleted);
CREATE INDEX backups_host_status_idx ON backups (host, status);

CREATE TABLE backup_metadata (
    backup_id  VARCHAR(36)  NOT NULL,
    `key`      VARCHAR(255) NOT NULL,
    `value`    VARCHAR(255) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (backup_id, `key`),
    CONSTRAINT fk_backup_metadata_backup_id FOREIGN KEY (backup_id) REFERENCES backups (id) ON DELETE CASCADE
);

ALTER TABLE volumes ADD COLUMN previous_status VARCHAR(255) NULL;

-- +goose Down
ALTER TABLE volumes DROP COLUMN previous_status;
DROP TABLE backup_metadata;
DROP TABLE backups;

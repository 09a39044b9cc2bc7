-- Volume type encryption, MariaDB/MySQL flavour: keep in step with 00016_encryption.sqlite.sql.
-- As Cinder's `encryption` table: at most one live row per volume type (provider, cipher,
-- key_size, control_location), soft-deleted as Cinder's is. A volume of an encrypted type
-- carries the id of its key in the key manager (volumes.encryption_key_id); its snapshots
-- carry the same id (snapshots.encryption_key_id), so that a volume made from one gets a copy.
-- +goose Up
CREATE TABLE encryption (
    encryption_id    VARCHAR(36)  NOT NULL,
    volume_type_id   VARCHAR(36)  NOT NULL,
    provider         VARCHAR(255) NULL,
    cipher           VARCHAR(255) NULL,
    key_size         INT          NULL,
    control_location VARCHAR(255) NULL,
    created_at       DATETIME(6)  NOT NULL,
    updated_at       DATETIME(6)  NULL,
    deleted_at       DATETIME(6)  NULL,
    deleted          TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (encryption_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE INDEX encryption_volume_type_id_deleted_idx ON encryption (volume_type_id, deleted);

ALTER TABLE volumes ADD COLUMN encryption_key_id VARCHAR(36) NULL;
CREATE INDEX volumes_encryption_key_id_idx ON volumes (encryption_key_id);
ALTER TABLE snapshots ADD COLUMN encryption_key_id VARCHAR(36) NULL;
CREATE INDEX snapshots_encryption_key_id_idx ON snapshots (encryption_key_id);

-- +goose Down
DROP INDEX snapshots_encryption_key_id_idx ON snapshots;
ALTER TABLE snapshots DROP COLUMN encryption_key_id;
DROP INDEX volumes_encryption_key_id_idx ON volumes;
ALTER TABLE volumes DROP COLUMN encryption_key_id;
DROP TABLE encryption;

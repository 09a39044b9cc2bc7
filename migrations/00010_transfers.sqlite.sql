-- Volume transfers, SQLite flavour: keep in step with 00010_transfers.mysql.sql.
-- One row per offer to give a volume to another project, as Cinder's transfers table: the
-- auth key is kept only as salt + crypt_hash (hex SHA-256 of salt and key). An accepted or
-- deleted offer is soft-deleted; accepted and destination_project_id keep its history.
-- +goose Up
CREATE TABLE transfers (
    id                     VARCHAR(36)  NOT NULL,
    volume_id              VARCHAR(36)  NOT NULL,
    display_name           VARCHAR(255) NULL,
    salt                   VARCHAR(255) NOT NULL,
    crypt_hash             VARCHAR(255) NOT NULL,
    source_project_id      VARCHAR(255) NOT NULL,
    destination_project_id VARCHAR(255) NULL,
    accepted               TINYINT(1)   NOT NULL DEFAULT 0,
    no_snapshots           TINYINT(1)   NOT NULL DEFAULT 0,
    created_at             DATETIME(6)  NOT NULL,
    updated_at             DATETIME(6)  NULL,
    deleted_at             DATETIME(6)  NULL,
    deleted                TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT fk_transfers_volume_id FOREIGN KEY (volume_id) REFERENCES volumes (id)
);

CREATE INDEX transfers_volume_id_deleted_idx ON transfers (volume_id, deleted);
CREATE INDEX transfers_source_project_id_deleted_idx ON transfers (source_project_id, deleted, created_at);

-- +goose Down
DROP TABLE transfers;

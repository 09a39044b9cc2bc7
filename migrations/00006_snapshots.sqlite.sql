-- Snapshots, SQLite flavour: keep in step with 00006_snapshots.mysql.sql.
-- A snapshot keeps the host (host@backend#pool) and type of its volume when it was taken: the
-- backend that holds it is where volumes created from it go. Volumes record what they were
-- created from (snapshot_id, source_volid), as Cinder's volumes table does.
-- +goose Up
CREATE TABLE snapshots (
    id                  VARCHAR(36)  NOT NULL,
    project_id          VARCHAR(255) NOT NULL,
    user_id             VARCHAR(255) NOT NULL,
    volume_id           VARCHAR(36)  NOT NULL,
    display_name        VARCHAR(255) NULL,
    display_description VARCHAR(255) NULL,
    volume_size         INTEGER      NOT NULL,
    status              VARCHAR(255) NOT NULL,
    progress            VARCHAR(255) NULL,
    volume_type_id      VARCHAR(36)  NULL,
    host                VARCHAR(255) NULL,
    created_at          DATETIME(6)  NOT NULL,
    updated_at          DATETIME(6)  NULL,
    deleted_at          DATETIME(6)  NULL,
    deleted             TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT fk_snapshots_volume_id FOREIGN KEY (volume_id) REFERENCES volumes (id)
);

CREATE INDEX snapshots_project_id_deleted_created_at_idx ON snapshots (project_id, deleted, created_at);
CREATE INDEX snapshots_volume_id_deleted_idx ON snapshots (volume_id, deleted);
CREATE INDEX snapshots_created_at_idx ON snapshots (created_at);
CREATE INDEX snapshots_host_status_idx ON snapshots (host, status);

CREATE TABLE snapshot_metadata (
    snapshot_id VARCHAR(36)  NOT NULL,
    `key`       VARCHAR(255) NOT NULL,
    `value`     VARCHAR(255) NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (snapshot_id, `key`),
    CONSTRAINT fk_snapshot_metadata_snapshot_id FOREIGN KEY (snapshot_id) REFERENCES snapshots (id) ON DELETE CASCADE
);

ALTER TABLE volumes ADD COLUMN snapshot_id VARCHAR(36) NULL;
ALTER TABLE volumes ADD COLUMN source_volid VARCHAR(36) NULL;

-- +goose Down
ALTER TABLE volumes DROP COLUMN source_volid;
ALTER TABLE volumes DROP COLUMN snapshot_id;
DROP TABLE snapshot_metadata;
DROP TABLE snapshots;

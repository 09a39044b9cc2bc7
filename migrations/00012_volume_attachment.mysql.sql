-- Volume attachments, MariaDB/MySQL flavour: keep in step with 00012_volume_attachment.sqlite.sql.
-- One row per attachment of a volume to a host, as Cinder's volume_attachment table; connector
-- and connection_info are JSON text. A detached attachment is soft-deleted (attach_status
-- detached, deleted 1). project_id is the volume's project when the attachment was made.
-- +goose Up
CREATE TABLE volume_attachment (
    id              VARCHAR(36)  NOT NULL,
    volume_id       VARCHAR(36)  NOT NULL,
    project_id      VARCHAR(255) NOT NULL,
    instance_uuid   VARCHAR(36)  NULL,
    attached_host   VARCHAR(255) NULL,
    mountpoint      VARCHAR(255) NULL,
    attach_status   VARCHAR(255) NOT NULL,
    attach_mode     VARCHAR(36)  NULL,
    connector       TEXT         NULL,
    connection_info TEXT         NULL,
    attach_time     DATETIME(6)  NULL,
    detach_time     DATETIME(6)  NULL,
    created_at      DATETIME(6)  NOT NULL,
    updated_at      DATETIME(6)  NULL,
    deleted_at      DATETIME(6)  NULL,
    deleted         TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT fk_volume_attachment_volume_id FOREIGN KEY (volume_id) REFERENCES volumes (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE INDEX volume_attachment_volume_id_deleted_idx ON volume_attachment (volume_id, deleted);
CREATE INDEX volume_attachment_project_id_deleted_idx ON volume_attachment (project_id, deleted, created_at);
CREATE INDEX volume_attachment_attach_status_updated_at_idx ON volume_attachment (attach_status, updated_at);

-- +goose Down
DROP TABLE volume_attachment;

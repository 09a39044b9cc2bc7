-- Admin and image metadata of volumes, MariaDB/MySQL flavour: keep in step with
-- 00009_volume_admin_glance_metadata.sqlite.sql.
-- volume_admin_metadata holds what only admins set (readonly, attached_mode); Cinder shows those
-- two keys in the volume's metadata. volume_glance_metadata holds the image properties of a
-- volume (os-set_image_metadata, volume_image_metadata in the view). Both go with their volume.
-- +goose Up
CREATE TABLE volume_admin_metadata (
    volume_id  VARCHAR(36)  NOT NULL,
    `key`      VARCHAR(255) NOT NULL,
    `value`    VARCHAR(255) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (volume_id, `key`),
    CONSTRAINT fk_volume_admin_metadata_volume_id FOREIGN KEY (volume_id) REFERENCES volumes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE volume_glance_metadata (
    volume_id  VARCHAR(36)  NOT NULL,
    `key`      VARCHAR(255) NOT NULL,
    `value`    TEXT         NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (volume_id, `key`),
    CONSTRAINT fk_volume_glance_metadata_volume_id FOREIGN KEY (volume_id) REFERENCES volumes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE volume_glance_metadata;
DROP TABLE volume_admin_metadata;

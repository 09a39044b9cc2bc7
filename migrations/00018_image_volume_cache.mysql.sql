-- The image-volume cache, MariaDB/MySQL flavour: keep in step with 00018_image_volume_cache.sqlite.sql.
-- As Cinder's image_volume_cache_entries: one row per image cached on a backend pool (host is
-- the cache volume's host@backend#pool; cluster_name is Cinder's and unused), the image's
-- updated_at when it was cached (an image changed since is evicted), the cache volume (owned
-- by the internal tenant), its size in GiB and when a volume was last made from it (LRU).
-- Unlike Cinder, (host, image_id) is unique: two creates of one image at once cannot both
-- cache it. The row goes with its volume (package db removes it when the volume is deleted).
-- +goose Up
CREATE TABLE image_volume_cache_entries (
    id               BIGINT       NOT NULL AUTO_INCREMENT,
    host             VARCHAR(255) NOT NULL,
    cluster_name     VARCHAR(255) NULL,
    image_id         VARCHAR(36)  NOT NULL,
    image_updated_at DATETIME(6)  NULL,
    volume_id        VARCHAR(36)  NOT NULL,
    size             INT          NOT NULL,
    last_used        DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT image_volume_cache_entries_host_image_id_key UNIQUE (host, image_id),
    CONSTRAINT fk_image_volume_cache_entries_volume_id FOREIGN KEY (volume_id) REFERENCES volumes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE INDEX image_volume_cache_entries_image_id_idx ON image_volume_cache_entries (image_id);
CREATE INDEX image_volume_cache_entries_volume_id_idx ON image_volume_cache_entries (volume_id);

-- +goose Down
DROP TABLE image_volume_cache_entries;

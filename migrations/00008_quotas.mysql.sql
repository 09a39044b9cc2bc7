-- Quotas, MariaDB/MySQL flavour: keep in step with 00008_quotas.sqlite.sql.
-- quotas holds a project's own limits, quota_classes the limits of a class (Scoria uses the
-- class 'default' only: the defaults of every project), quota_usages what each project uses.
-- A limit of -1 is unlimited. Usage is charged in the transaction that creates or deletes
-- what it counts, so reserved stays 0; the column is Cinder's and kept for its API shape.
-- +goose Up
CREATE TABLE quotas (
    project_id VARCHAR(255) NOT NULL,
    resource   VARCHAR(300) NOT NULL,
    hard_limit BIGINT       NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NULL,
    PRIMARY KEY (project_id, resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE quota_classes (
    class_name VARCHAR(255) NOT NULL,
    resource   VARCHAR(300) NOT NULL,
    hard_limit BIGINT       NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NULL,
    PRIMARY KEY (class_name, resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE quota_usages (
    project_id VARCHAR(255) NOT NULL,
    resource   VARCHAR(300) NOT NULL,
    in_use     BIGINT       NOT NULL DEFAULT 0,
    reserved   BIGINT       NOT NULL DEFAULT 0,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NULL,
    PRIMARY KEY (project_id, resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Cinder's defaults, as its own migration writes them for the class 'default'.
INSERT INTO quota_classes (class_name, resource, hard_limit, created_at) VALUES
    ('default', 'volumes', 10, CURRENT_TIMESTAMP),
    ('default', 'snapshots', 10, CURRENT_TIMESTAMP),
    ('default', 'gigabytes', 1000, CURRENT_TIMESTAMP),
    ('default', 'backups', 10, CURRENT_TIMESTAMP),
    ('default', 'backup_gigabytes', 1000, CURRENT_TIMESTAMP),
    ('default', 'groups', 10, CURRENT_TIMESTAMP),
    ('default', 'per_volume_gigabytes', -1, CURRENT_TIMESTAMP);

-- What the volumes and snapshots that exist already use: snapshots count towards gigabytes,
-- as in Cinder (no_snapshot_gb_quota = false).
INSERT INTO quota_usages (project_id, resource, in_use, reserved, created_at)
SELECT project_id, resource, SUM(n), 0, CURRENT_TIMESTAMP FROM (
    SELECT v.project_id AS project_id, 'volumes' AS resource, 1 AS n FROM volumes v WHERE v.deleted = 0
    UNION ALL SELECT v.project_id, 'gigabytes', v.size FROM volumes v WHERE v.deleted = 0
    UNION ALL SELECT v.project_id, CONCAT('volumes_', t.name), 1 FROM volumes v JOIN volume_types t ON t.id = v.volume_type_id WHERE v.deleted = 0
    UNION ALL SELECT v.project_id, CONCAT('gigabytes_', t.name), v.size FROM volumes v JOIN volume_types t ON t.id = v.volume_type_id WHERE v.deleted = 0
    UNION ALL SELECT s.project_id, 'snapshots', 1 FROM snapshots s WHERE s.deleted = 0
    UNION ALL SELECT s.project_id, 'gigabytes', s.volume_size FROM snapshots s WHERE s.deleted = 0
    UNION ALL SELECT s.project_id, CONCAT('snapshots_', t.name), 1 FROM snapshots s JOIN volume_types t ON t.id = s.volume_type_id WHERE s.deleted = 0
    UNION ALL SELECT s.project_id, CONCAT('gigabytes_', t.name), s.volume_size FROM snapshots s JOIN volume_types t ON t.id = s.volume_type_id WHERE s.deleted = 0
) used GROUP BY project_id, resource;

-- +goose Down
DROP TABLE quota_usages;
DROP TABLE quota_classes;
DROP TABLE quotas;

-- Volume type access, QoS specs and per-project default types, MariaDB/MySQL flavour: keep in step
-- with 00007_types_qos_defaults.sqlite.sql.
-- A private type lists the projects that may use it (volume_type_projects). A QoS spec is a
-- row with its name and consumer plus one row per key (Cinder keeps both in one table); a
-- type names at most one (volume_types.qos_specs_id). default_volume_types is the 3.62
-- per-project default type. QoS specs and project defaults are deleted outright: nothing
-- keeps referring to them once gone.
-- +goose Up
CREATE TABLE volume_type_projects (
    volume_type_id VARCHAR(36)  NOT NULL,
    project_id     VARCHAR(255) NOT NULL,
    created_at     DATETIME(6)  NOT NULL,
    PRIMARY KEY (volume_type_id, project_id),
    CONSTRAINT fk_volume_type_projects_type FOREIGN KEY (volume_type_id) REFERENCES volume_types (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE quality_of_service_specs (
    id         VARCHAR(36)  NOT NULL,
    name       VARCHAR(255) NOT NULL,
    consumer   VARCHAR(255) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NULL,
    PRIMARY KEY (id),
    CONSTRAINT uniq_quality_of_service_specs_name UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE quality_of_service_spec_values (
    qos_specs_id VARCHAR(36)  NOT NULL,
    `key`        VARCHAR(255) NOT NULL,
    `value`      VARCHAR(255) NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    updated_at   DATETIME(6)  NULL,
    PRIMARY KEY (qos_specs_id, `key`),
    CONSTRAINT fk_quality_of_service_spec_values_specs FOREIGN KEY (qos_specs_id) REFERENCES quality_of_service_specs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE volume_types ADD COLUMN qos_specs_id VARCHAR(36) NULL;
CREATE INDEX volume_types_qos_specs_id_idx ON volume_types (qos_specs_id);

CREATE TABLE default_volume_types (
    project_id     VARCHAR(255) NOT NULL,
    volume_type_id VARCHAR(36)  NOT NULL,
    created_at     DATETIME(6)  NOT NULL,
    updated_at     DATETIME(6)  NULL,
    PRIMARY KEY (project_id),
    CONSTRAINT fk_default_volume_types_type FOREIGN KEY (volume_type_id) REFERENCES volume_types (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE INDEX default_volume_types_volume_type_id_idx ON default_volume_types (volume_type_id);

-- +goose Down
DROP TABLE default_volume_types;
DROP INDEX volume_types_qos_specs_id_idx ON volume_types;
ALTER TABLE volume_types DROP COLUMN qos_specs_id;
DROP TABLE quality_of_service_spec_values;
DROP TABLE quality_of_service_specs;
DROP TABLE volume_type_projects;

-- Extra specs of volume types: what the scheduler's CapabilitiesFilter matches pools against.
-- +goose Up
CREATE TABLE volume_type_extra_specs (
    volume_type_id VARCHAR(36)  NOT NULL,
    `key`          VARCHAR(255) NOT NULL,
    `value`        VARCHAR(255) NOT NULL,
    created_at     DATETIME(6)  NOT NULL,
    updated_at     DATETIME(6)  NULL,
    PRIMARY KEY (volume_type_id, `key`),
    CONSTRAINT fk_volume_type_extra_specs_type FOREIGN KEY (volume_type_id) REFERENCES volume_types (id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE volume_type_extra_specs;

-- Scoria's first schema, SQLite flavour. Keep it in step with 00001_initial.mysql.sql: same
-- tables, columns, keys and index names. Times are stored as fixed-width UTC text
-- ("2006-01-02 15:04:05.000000", written by package db), so they sort as they compare.
-- AUTOINCREMENT keeps SQLite from reusing the id of a deleted last row (an outbox id must
-- never name two messages).

-- +goose Up
CREATE TABLE volume_types (
    id          VARCHAR(36)  NOT NULL PRIMARY KEY,
    name        VARCHAR(255) NOT NULL,
    description VARCHAR(255) NULL,
    is_public   TINYINT(1)   NOT NULL DEFAULT 1,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NULL,
    deleted_at  DATETIME(6)  NULL,
    deleted     TINYINT(1)   NOT NULL DEFAULT 0,
    CONSTRAINT uniq_volume_types_name UNIQUE (name)
);

CREATE TABLE volumes (
    id                  VARCHAR(36)  NOT NULL PRIMARY KEY,
    project_id          VARCHAR(255) NOT NULL,
    user_id             VARCHAR(255) NOT NULL,
    display_name        VARCHAR(255) NULL,
    display_description VARCHAR(255) NULL,
    size                INTEGER      NOT NULL,
    status              VARCHAR(255) NOT NULL,
    attach_status       VARCHAR(255) NOT NULL,
    availability_zone   VARCHAR(255) NULL,
    host                VARCHAR(255) NULL,
    volume_type_id      VARCHAR(36)  NULL,
    bootable            TINYINT(1)   NOT NULL DEFAULT 0,
    multiattach         TINYINT(1)   NOT NULL DEFAULT 0,
    created_at          DATETIME(6)  NOT NULL,
    updated_at          DATETIME(6)  NULL,
    deleted_at          DATETIME(6)  NULL,
    deleted             TINYINT(1)   NOT NULL DEFAULT 0,
    CONSTRAINT fk_volumes_volume_type_id FOREIGN KEY (volume_type_id) REFERENCES volume_types (id)
);

CREATE INDEX volumes_project_id_deleted_created_at_idx ON volumes (project_id, deleted, created_at);
CREATE INDEX volumes_created_at_idx ON volumes (created_at);
CREATE INDEX volumes_host_status_idx ON volumes (host, status);
CREATE INDEX volumes_status_updated_at_idx ON volumes (status, updated_at);
CREATE INDEX volumes_volume_type_id_idx ON volumes (volume_type_id);

CREATE TABLE volume_metadata (
    volume_id  VARCHAR(36)  NOT NULL,
    `key`      VARCHAR(255) NOT NULL,
    `value`    VARCHAR(255) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (volume_id, `key`),
    CONSTRAINT fk_volume_metadata_volume_id FOREIGN KEY (volume_id) REFERENCES volumes (id) ON DELETE CASCADE
);

CREATE TABLE services (
    id                INTEGER      PRIMARY KEY AUTOINCREMENT,
    host              VARCHAR(255) NOT NULL,
    `binary`          VARCHAR(255) NOT NULL,
    topic             VARCHAR(255) NOT NULL,
    availability_zone VARCHAR(255) NOT NULL,
    disabled          TINYINT(1)   NOT NULL DEFAULT 0,
    disabled_reason   VARCHAR(255) NULL,
    report_count      BIGINT       NOT NULL DEFAULT 0,
    created_at        DATETIME(6)  NOT NULL,
    updated_at        DATETIME(6)  NULL,
    deleted_at        DATETIME(6)  NULL,
    deleted           TINYINT(1)   NOT NULL DEFAULT 0,
    CONSTRAINT uniq_services_binary_host UNIQUE (`binary`, host)
);

CREATE TABLE outbox (
    id         INTEGER      PRIMARY KEY AUTOINCREMENT,
    topic      VARCHAR(255) NOT NULL,
    server     VARCHAR(255) NOT NULL,
    method     VARCHAR(255) NOT NULL,
    args       MEDIUMTEXT   NOT NULL,
    `context`  MEDIUMTEXT   NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    claimed_at DATETIME(6)  NULL
);

CREATE INDEX outbox_claimed_at_created_at_idx ON outbox (claimed_at, created_at);

-- +goose Down
DROP TABLE outbox;
DROP TABLE services;
DROP TABLE volume_metadata;
DROP TABLE volumes;
DROP TABLE volume_types;

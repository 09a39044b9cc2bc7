-- Generic volume groups, SQLite flavour: keep in step with 00014_groups.mysql.sql.
-- As Cinder's tables: group types with their specs and private access; groups (placed on one
-- backend, host@backend#pool, by the scheduler) with the volume types they may hold
-- (group_volume_type_mapping); group snapshots, one snapshot row per member carrying
-- group_snapshot_id. A volume belongs to at most one group (volumes.group_id). Groups, group
-- snapshots and group types are soft-deleted, as Cinder's are, so a deleted one still shows
-- in the history of what referred to it.
-- +goose Up
CREATE TABLE group_types (
    id          VARCHAR(36)  NOT NULL,
    name        VARCHAR(255) NOT NULL,
    description VARCHAR(255) NULL,
    is_public   TINYINT(1)   NOT NULL DEFAULT 1,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NULL,
    deleted_at  DATETIME(6)  NULL,
    deleted     TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE INDEX group_types_name_deleted_idx ON group_types (name, deleted);

CREATE TABLE group_type_specs (
    group_type_id VARCHAR(36)  NOT NULL,
    `key`         VARCHAR(255) NOT NULL,
    `value`       VARCHAR(255) NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NULL,
    PRIMARY KEY (group_type_id, `key`),
    CONSTRAINT fk_group_type_specs_type FOREIGN KEY (group_type_id) REFERENCES group_types (id) ON DELETE CASCADE
);

CREATE TABLE group_type_projects (
    group_type_id VARCHAR(36)  NOT NULL,
    project_id    VARCHAR(255) NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    PRIMARY KEY (group_type_id, project_id),
    CONSTRAINT fk_group_type_projects_type FOREIGN KEY (group_type_id) REFERENCES group_types (id) ON DELETE CASCADE
);

CREATE TABLE `groups` (
    id                 VARCHAR(36)  NOT NULL,
    project_id         VARCHAR(255) NOT NULL,
    user_id            VARCHAR(255) NOT NULL,
    name               VARCHAR(255) NULL,
    description        VARCHAR(255) NULL,
    availability_zone  VARCHAR(255) NOT NULL,
    host               VARCHAR(255) NULL,
    group_type_id      VARCHAR(36)  NOT NULL,
    status             VARCHAR(255) NOT NULL,
    group_snapshot_id  VARCHAR(36)  NULL,
    source_group_id    VARCHAR(36)  NULL,
    replication_status VARCHAR(255) NULL,
    created_at         DATETIME(6)  NOT NULL,
    updated_at         DATETIME(6)  NULL,
    deleted_at         DATETIME(6)  NULL,
    deleted            TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT fk_groups_group_type FOREIGN KEY (group_type_id) REFERENCES group_types (id)
);

CREATE INDEX groups_project_id_deleted_created_at_idx ON `groups` (project_id, deleted, created_at);
CREATE INDEX groups_host_status_idx ON `groups` (host, status);

CREATE TABLE group_volume_type_mapping (
    group_id       VARCHAR(36) NOT NULL,
    volume_type_id VARCHAR(36) NOT NULL,
    created_at     DATETIME(6) NOT NULL,
    PRIMARY KEY (group_id, volume_type_id),
    CONSTRAINT fk_group_volume_type_mapping_group FOREIGN KEY (group_id) REFERENCES `groups` (id) ON DELETE CASCADE,
    CONSTRAINT fk_group_volume_type_mapping_type FOREIGN KEY (volume_type_id) REFERENCES volume_types (id)
);

CREATE TABLE group_snapshots (
    id            VARCHAR(36)  NOT NULL,
    group_id      VARCHAR(36)  NOT NULL,
    project_id    VARCHAR(255) NOT NULL,
    user_id       VARCHAR(255) NOT NULL,
    name          VARCHAR(255) NULL,
    description   VARCHAR(255) NULL,
    status        VARCHAR(255) NOT NULL,
    group_type_id VARCHAR(36)  NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NULL,
    deleted_at    DATETIME(6)  NULL,
    deleted       TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT fk_group_snapshots_group FOREIGN KEY (group_id) REFERENCES `groups` (id)
);

CREATE INDEX group_snapshots_project_id_deleted_created_at_idx ON group_snapshots (project_id, deleted, created_at);
CREATE INDEX group_snapshots_group_id_deleted_idx ON group_snapshots (group_id, deleted);

ALTER TABLE volumes ADD COLUMN group_id VARCHAR(36) NULL;
CREATE INDEX volumes_group_id_deleted_idx ON volumes (group_id, deleted);
ALTER TABLE snapshots ADD COLUMN group_snapshot_id VARCHAR(36) NULL;
CREATE INDEX snapshots_group_snapshot_id_deleted_idx ON snapshots (group_snapshot_id, deleted);

-- +goose Down
DROP INDEX snapshots_group_snapshot_id_deleted_idx;
ALTER TABLE snapshots DROP COLUMN group_snapshot_id;
DROP INDEX volumes_group_id_deleted_idx;
ALTER TABLE volumes DROP COLUMN group_id;
DROP TABLE group_snapshots;
DROP TABLE group_volume_type_mapping;
DROP TABLE `groups`;
DROP TABLE group_type_projects;
DROP TABLE group_type_specs;
DROP TABLE group_types;

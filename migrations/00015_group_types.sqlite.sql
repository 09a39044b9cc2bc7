-- Group types, SQLite flavour: keep in step with 00015_group_types.mysql.sql.
-- Names are unique among the group types that are not deleted, as Cinder's create and update
-- check (its check reads before it writes; here the index also holds between concurrent
-- writers): a partial unique index over the live rows, so a deleted type keeps its name and a
-- new type may take it.
-- Cinder's initial migration creates the group type default_cgsnapshot_type (spec
-- consistent_group_snapshot_enabled = "<is> True"), which its consistency group API maps
-- consistency groups and cgsnapshots onto; it is seeded here with a fixed id (package db
-- exports it as DefaultCGSnapshotTypeID).
-- +goose Up
CREATE UNIQUE INDEX group_types_live_name_idx ON group_types (name) WHERE deleted = 0;

INSERT INTO group_types (id, name, description, is_public, created_at, updated_at, deleted)
VALUES ('0bf7232b-6dbb-495c-9c02-60b6db769f68', 'default_cgsnapshot_type', 'Default group type for migrating cgsnapshot', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0);
INSERT INTO group_type_specs (group_type_id, `key`, `value`, created_at, updated_at)
VALUES ('0bf7232b-6dbb-495c-9c02-60b6db769f68', 'consistent_group_snapshot_enabled', '<is> True', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

-- +goose Down
DELETE FROM group_type_specs WHERE group_type_id = '0bf7232b-6dbb-495c-9c02-60b6db769f68';
DELETE FROM group_types WHERE id = '0bf7232b-6dbb-495c-9c02-60b6db769f68';
DROP INDEX group_types_live_name_idx;

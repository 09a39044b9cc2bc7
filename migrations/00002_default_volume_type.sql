-- Cinder's built-in default volume type. The id is fixed so that every Scoria database names
-- it the same (package db exports it as DefaultVolumeTypeID).

-- +goose Up
INSERT INTO volume_types (id, name, description, is_public, created_at, deleted)
VALUES ('644d43d8-9530-4dc1-9e32-21ba29eaf806', '__DEFAULT__', 'Default Volume Type', 1, CURRENT_TIMESTAMP, 0);

-- +goose Down
DELETE FROM volume_types WHERE id = '644d43d8-9530-4dc1-9e32-21ba29eaf806';

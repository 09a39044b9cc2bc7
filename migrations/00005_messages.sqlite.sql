-- User messages, SQLite flavour: keep in step with 00005_messages.mysql.sql.
-- User messages (Cinder's messages API, microversion 3.3): one row per event a user should
-- see, such as a volume that no backend could take. Columns are Cinder's (models.Message);
-- detail is Scoria's: the sentence that says why, shown in place of the detail's stock text.
-- +goose Up
CREATE TABLE messages (
    id            VARCHAR(36)  NOT NULL,
    project_id    VARCHAR(255) NOT NULL,
    request_id    VARCHAR(255) NULL,
    resource_type VARCHAR(255) NULL,
    resource_uuid VARCHAR(255) NULL,
    event_id      VARCHAR(255) NOT NULL,
    message_level VARCHAR(255) NOT NULL,
    action_id     VARCHAR(10)  NULL,
    detail_id     VARCHAR(10)  NULL,
    detail        TEXT         NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NULL,
    expires_at    DATETIME(6)  NULL,
    deleted_at    DATETIME(6)  NULL,
    deleted       TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE INDEX messages_project_idx ON messages (project_id, deleted, created_at);
CREATE INDEX messages_expires_idx ON messages (expires_at);

-- +goose Down
DROP TABLE messages;

-- Capacity claims, SQLite flavour: keep in step with 00004_pools.mysql.sql.
-- Capacity claims: one row per pool (host@backend#pool) with the figures of its last
-- capability report that the claim check needs, and allocated_gb, the sum of the claims of
-- the volumes placed on it. A placement claims with one conditional UPDATE of its pool in the
-- same transaction as the volume's host (see internal/db/pools.go for the rule).
-- volumes.claimed_gb is what a volume holds on the pool named by its host: its size while it
-- has a host and storage (or may get it), 0 once a create has failed for good.
-- +goose Up
CREATE TABLE pools (
    name                        VARCHAR(255) NOT NULL,
    backend                     VARCHAR(255) NOT NULL,
    total_capacity_gb           DOUBLE       NULL,
    reserved_percentage         DOUBLE       NOT NULL DEFAULT 0,
    max_over_subscription_ratio DOUBLE       NULL,
    thin                        TINYINT(1)   NOT NULL DEFAULT 0,
    allocated_gb                BIGINT       NOT NULL DEFAULT 0,
    created_at                  DATETIME(6)  NOT NULL,
    updated_at                  DATETIME(6)  NOT NULL,
    PRIMARY KEY (name)
);

CREATE INDEX pools_backend_idx ON pools (backend);

ALTER TABLE volumes ADD COLUMN claimed_gb INTEGER NOT NULL DEFAULT 0;
UPDATE volumes SET claimed_gb = size WHERE deleted = 0 AND host IS NOT NULL AND status <> 'error';

-- +goose Down
ALTER TABLE volumes DROP COLUMN claimed_gb;
DROP TABLE pools;

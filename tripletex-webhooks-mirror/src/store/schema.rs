//! The tables, created when a store opens (see the crate README for the
//! meaning of each column). Only the key generator of the change feed
//! differs between the engines.

/// The objects, the backfill progress and the change feed, for SQLite.
pub(crate) const SQLITE: &[&str] = &[
    OBJECTS,
    BACKFILL,
    "CREATE TABLE IF NOT EXISTS mirror_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        subject TEXT NOT NULL,
        id BIGINT NOT NULL,
        old_version BIGINT,
        new_version BIGINT NOT NULL,
        deleted BIGINT NOT NULL,
        source TEXT NOT NULL,
        changed_at BIGINT NOT NULL,
        delivered BIGINT NOT NULL DEFAULT 0
    )",
    CHANGES_INDEX,
];

/// The same tables for PostgreSQL.
pub(crate) const POSTGRES: &[&str] = &[
    OBJECTS,
    BACKFILL,
    "CREATE TABLE IF NOT EXISTS mirror_changes (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subject TEXT NOT NULL,
        id BIGINT NOT NULL,
        old_version BIGINT,
        new_version BIGINT NOT NULL,
        deleted BIGINT NOT NULL,
        source TEXT NOT NULL,
        changed_at BIGINT NOT NULL,
        delivered BIGINT NOT NULL DEFAULT 0
    )",
    CHANGES_INDEX,
];

const OBJECTS: &str = "CREATE TABLE IF NOT EXISTS mirror_objects (
    subject TEXT NOT NULL,
    id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    data TEXT,
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (subject, id)
)";

const BACKFILL: &str = "CREATE TABLE IF NOT EXISTS mirror_backfill (
    subject TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    pages BIGINT NOT NULL,
    objects BIGINT NOT NULL,
    done BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

const CHANGES_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS mirror_changes_pending ON mirror_changes (delivered, seq)";

-- Why a message ended without a successful attempt (e.g. its subscription was disabled).
ALTER TABLE messages ADD COLUMN last_error TEXT;

-- Every delivery attempt, for the delivery log.
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL,
    attempted_at_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT
);
CREATE INDEX attempts_by_message ON attempts (message_id, id);

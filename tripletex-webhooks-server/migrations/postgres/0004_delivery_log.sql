-- What each attempt sent and what came back, as JSON (the request's url, the
-- response's status; headers, body, bodyTruncated), secrets redacted, for the
-- delivery log. NULL for attempts recorded before, and where none was made.
ALTER TABLE attempts ADD COLUMN request TEXT;
ALTER TABLE attempts ADD COLUMN response TEXT;
-- Retention deletes finished messages by when they finished.
CREATE INDEX messages_finished ON messages (finished_at_ms) WHERE status != 'pending';

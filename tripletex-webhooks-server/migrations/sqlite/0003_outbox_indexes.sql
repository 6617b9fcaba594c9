-- Only pending messages are ever looked up by due time: keep that index small.
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (next_attempt_at_ms) WHERE status = 'pending';

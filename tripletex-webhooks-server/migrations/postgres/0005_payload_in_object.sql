-- 1 when a message's payload is its object's stored body at object_version
-- (payload NULL): creates and updates of stored objects no longer copy the
-- body. A write that replaces or deletes that version first copies its
-- rendering into the messages still pointing at it (and sets this to 0).
ALTER TABLE messages ADD COLUMN payload_in_object INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_in_object ON messages (object_id, object_version) WHERE payload_in_object = 1;

-- Superseding older versions at enqueue looks messages up by object.
CREATE INDEX messages_by_event_object ON messages (company_id, event, object_id, status);

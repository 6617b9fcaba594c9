-- The x-tlx-request-id of the API call that caused the event (NULL for
-- messages enqueued before it was kept).
ALTER TABLE messages ADD COLUMN request_id TEXT;

-- Companies: one per configured employee token (stored as a digest).
CREATE TABLE companies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    employee_token_digest TEXT NOT NULL UNIQUE,
    employee_id INTEGER NOT NULL
);

-- Session tokens, stored as digests.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_digest TEXT NOT NULL UNIQUE,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    expiration_date TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    version INTEGER NOT NULL,
    event TEXT NOT NULL,
    target_url TEXT NOT NULL,
    fields TEXT,
    status TEXT NOT NULL,
    auth_header_name TEXT,
    auth_header_value TEXT,
    hmac_shared_secret TEXT,
    changes TEXT NOT NULL,
    -- When the current run of failed deliveries began (NULL: last delivery succeeded).
    failing_since_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX subscriptions_by_event ON subscriptions (company_id, event, status);

-- Objects of every resource; ids are unique across resources, like Tripletex's.
CREATE TABLE objects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    resource TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    changes TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX objects_by_resource ON objects (company_id, resource, deleted, id);

-- The transactional outbox: one row per (event occurrence, subscription).
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL,
    subscription_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    subject TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    object_version INTEGER,
    -- The object as of the event (unfiltered), NULL for deletes.
    payload TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    lease_until_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER
);
CREATE INDEX messages_due ON messages (status, next_attempt_at_ms);
CREATE INDEX messages_by_subscription ON messages (subscription_id, status);
CREATE INDEX messages_by_object ON messages (subscription_id, subject, object_id, status);

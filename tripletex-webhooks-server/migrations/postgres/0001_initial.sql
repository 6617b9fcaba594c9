-- The same schema as migrations/sqlite, in PostgreSQL's dialect.

CREATE TABLE companies (
    id BIGSERIAL PRIMARY KEY,
    employee_token_digest TEXT NOT NULL UNIQUE,
    employee_id BIGINT NOT NULL
);

CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY,
    token_digest TEXT NOT NULL UNIQUE,
    company_id BIGINT NOT NULL REFERENCES companies (id),
    expiration_date TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

CREATE TABLE subscriptions (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id),
    version INTEGER NOT NULL,
    event TEXT NOT NULL,
    target_url TEXT NOT NULL,
    fields TEXT,
    status TEXT NOT NULL,
    auth_header_name TEXT,
    auth_header_value TEXT,
    hmac_shared_secret TEXT,
    changes TEXT NOT NULL,
    failing_since_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX subscriptions_by_event ON subscriptions (company_id, event, status);

CREATE TABLE objects (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id),
    resource TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    changes TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX objects_by_resource ON objects (company_id, resource, deleted, id);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL,
    subscription_id BIGINT NOT NULL,
    event TEXT NOT NULL,
    subject TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    object_version INTEGER,
    payload TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    finished_at_ms BIGINT,
    last_error TEXT
);
CREATE INDEX messages_due ON messages (next_attempt_at_ms, id) WHERE status = 'pending';
CREATE INDEX messages_by_subscription ON messages (subscription_id, status);
CREATE INDEX messages_by_object ON messages (subscription_id, subject, object_id, status);

CREATE TABLE attempts (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL,
    attempted_at_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status_code INTEGER,
    error TEXT
);
CREATE INDEX attempts_by_message ON attempts (message_id, id);

-- The preset dictionaries object bodies are deflated with, one per resource
-- and model data (its digest): the server adds the current ones at start-up
-- and keeps every older one, since rows compressed with it still name it.
CREATE TABLE body_dictionaries (
    id BIGSERIAL PRIMARY KEY,
    resource TEXT NOT NULL,
    digest TEXT NOT NULL,
    dictionary BYTEA NOT NULL,
    UNIQUE (resource, digest)
);
-- The dictionary `body_deflated` was compressed with; NULL for none (rows
-- written before).
ALTER TABLE objects ADD COLUMN body_dictionary BIGINT REFERENCES body_dictionaries (id);

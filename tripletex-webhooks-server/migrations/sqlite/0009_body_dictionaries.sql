-- The preset dictionaries stored JSON is deflated with: one per resource
-- (objects' bodies) and `_attempts` (attempts' exchanges), for each version
-- of the data it is made from (its digest). The server adds the current
-- ones at start-up and keeps every older one: rows compressed with it still
-- name it.
CREATE TABLE body_dictionaries (
    id INTEGER PRIMARY KEY,
    resource TEXT NOT NULL,
    digest TEXT NOT NULL,
    dictionary BLOB NOT NULL,
    UNIQUE (resource, digest)
);
-- The dictionary `body_deflated` was compressed with; NULL for none (rows
-- written before). Where `changes` is empty, `body_deflated` holds the
-- JSON array `[body, changes]`; else the body alone.
ALTER TABLE objects ADD COLUMN body_dictionary INTEGER REFERENCES body_dictionaries (id);
-- An attempt's `[request, response]` as JSON, deflated with the dictionary
-- `exchange_dictionary`; where it is set, `request` and `response` are
-- NULL (attempts written before keep theirs there).
ALTER TABLE attempts ADD COLUMN exchange_deflated BLOB;
ALTER TABLE attempts ADD COLUMN exchange_dictionary INTEGER REFERENCES body_dictionaries (id);

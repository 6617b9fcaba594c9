-- An object's body as deflated JSON (raw DEFLATE): a product's 1.45 KB
-- takes about 800 bytes. Where it is set, `body` is empty; objects written
-- before keep their JSON in `body`.
ALTER TABLE objects ADD COLUMN body_deflated BLOB;

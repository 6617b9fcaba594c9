-- How far the emulator clock is ahead of real time, so a restart continues
-- where the clock was. One row; the offset only grows.
CREATE TABLE emulator_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    offset_ms INTEGER NOT NULL
);
INSERT INTO emulator_clock (id, offset_ms) VALUES (1, 0);

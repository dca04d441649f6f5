-- Migration 1: the keyring, field notes, the hash-chained trail and the outbox.
-- Every column that could hold personal data or evidence content is an AEAD-sealed BLOB (suffix _enc).

CREATE TABLE keyring (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    wrapped_data_key BLOB NOT NULL,
    -- A constant sealed with the column key: proves on open that the unwrapped key is this store's.
    key_check BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    inspection_id TEXT,
    created_at TEXT NOT NULL,
    title_enc BLOB NOT NULL,
    body_enc BLOB NOT NULL
) STRICT;
CREATE INDEX notes_by_inspection ON notes (inspection_id, created_at);

CREATE TABLE trail_events (
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload_enc BLOB NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    PRIMARY KEY (stream, seq)
) STRICT;

-- The trail is append-only: the database itself refuses edits and deletions.
CREATE TRIGGER trail_events_no_update BEFORE UPDATE ON trail_events
BEGIN SELECT RAISE(ABORT, 'trail events are append-only'); END;
CREATE TRIGGER trail_events_no_delete BEFORE DELETE ON trail_events
BEGIN SELECT RAISE(ABORT, 'trail events are append-only'); END;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    depends_on TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'acknowledged', 'wedged')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    resume_offset INTEGER NOT NULL DEFAULT 0,
    receipt BLOB,
    wedged_reason TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (kind, object_id)
) STRICT;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

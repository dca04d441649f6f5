-- Migration 4: trail format v2 (a sealed per-event salt) and the on-site record (现场检查笔录).

-- v2 events hash canonical JSON that includes a random salt; the salt is sealed like the payload.
-- Events written before this migration stay format 1 with no salt and still verify.
ALTER TABLE trail_events ADD COLUMN format INTEGER NOT NULL DEFAULT 1 CHECK (format IN (1, 2));
ALTER TABLE trail_events ADD COLUMN salt_enc BLOB;

-- One row per record document: the original record of an inspection and each addendum. The
-- document (content, page model, revision history) is sealed; ids, state and hashes stay plain.
-- A frozen row never changes again (requirement 7).
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    inspection_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('record', 'addendum')),
    -- For an addendum: the frozen record it adds to.
    amends_record_id TEXT REFERENCES records (id),
    revision INTEGER NOT NULL CHECK (revision >= 1),
    document_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'frozen')),
    body_enc BLOB NOT NULL,
    -- The device-signed freeze statement, sealed; NULL while a draft.
    freeze_enc BLOB,
    created_at TEXT NOT NULL,
    frozen_at TEXT
) STRICT;
CREATE INDEX records_by_inspection ON records (inspection_id, created_at);

CREATE TRIGGER records_frozen_no_update BEFORE UPDATE ON records WHEN OLD.state = 'frozen'
BEGIN SELECT RAISE(ABORT, 'a frozen record never changes; add an addendum'); END;
CREATE TRIGGER records_no_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'records are never deleted'); END;

-- Signatures and refusals given on a record. The signed statement, the strokes (biometric) and
-- the rendered image are sealed with the row id as context; nothing readable about the signer.
CREATE TABLE record_signatures (
    id TEXT PRIMARY KEY,
    record_id TEXT NOT NULL REFERENCES records (id),
    entry TEXT NOT NULL CHECK (entry IN ('signature', 'refusal')),
    role TEXT NOT NULL,
    document_hash TEXT NOT NULL,
    statement_enc BLOB NOT NULL,
    strokes_enc BLOB,
    image_enc BLOB,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX record_signatures_by_record ON record_signatures (record_id, created_at);

CREATE TRIGGER record_signatures_no_update BEFORE UPDATE ON record_signatures
BEGIN SELECT RAISE(ABORT, 'signatures are immutable'); END;
CREATE TRIGGER record_signatures_no_delete BEFORE DELETE ON record_signatures
BEGIN SELECT RAISE(ABORT, 'signatures are never deleted'); END;

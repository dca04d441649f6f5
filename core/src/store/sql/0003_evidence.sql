-- Migration 3: evidence items (证据).
-- The signed manifest (hash, times, position, flags, operator) is sealed in manifest_enc; only ids,
-- the kind, media type and size stay plain, for listing, joins and upload planning. The content
-- hash is found through a keyed lookup hash, never stored readable.
CREATE TABLE evidence (
    id TEXT PRIMARY KEY,
    inspection_id TEXT NOT NULL,
    item_id TEXT,
    finding_id TEXT,
    -- A derivative (redacted or watermarked copy) names the original it was made from.
    parent_id TEXT REFERENCES evidence (id),
    kind TEXT NOT NULL CHECK (kind IN ('photo', 'video', 'audio', 'document', 'data')),
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL CHECK (size > 0),
    sha256_lookup TEXT NOT NULL,
    blob_id TEXT NOT NULL UNIQUE,
    thumbnail_blob_id TEXT UNIQUE,
    -- The device-signed manifest envelope (canonical JSON), AEAD-sealed with the row id as context.
    manifest_enc BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX evidence_by_inspection ON evidence (inspection_id, created_at);
CREATE INDEX evidence_by_hash ON evidence (sha256_lookup);

-- Originals are never modified (requirement 4): a sealed item is immutable and is never deleted
-- here; a later state (uploaded, released) belongs in its own table.
CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence items are immutable'); END;
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence items are never deleted'); END;

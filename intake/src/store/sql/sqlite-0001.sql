-- Intake metadata, version 1. Times are Unix milliseconds (UTC).
CREATE TABLE enrolment_codes (
    code_hash    TEXT PRIMARY KEY,
    inspector_id TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    device_id    TEXT
);
CREATE TABLE devices (
    device_id    TEXT PRIMARY KEY,
    inspector_id TEXT NOT NULL,
    key_id       TEXT NOT NULL UNIQUE,
    public_key   BLOB NOT NULL,
    label        TEXT,
    enrolled_at  INTEGER NOT NULL,
    not_after    INTEGER NOT NULL,
    revoked_at   INTEGER,
    certificate  TEXT NOT NULL
);
CREATE TABLE challenges (
    challenge  TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices(device_id),
    expires_at INTEGER NOT NULL
);
CREATE TABLE uploads (
    upload_id       TEXT PRIMARY KEY,
    device_id       TEXT NOT NULL REFERENCES devices(device_id),
    length          INTEGER NOT NULL,
    offset          INTEGER NOT NULL,
    declared_sha256 TEXT NOT NULL,
    evidence_id     TEXT,
    created_at      INTEGER NOT NULL,
    completed       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
    offset    INTEGER NOT NULL,
    length    INTEGER NOT NULL,
    key       TEXT NOT NULL,
    PRIMARY KEY (upload_id, offset)
);
CREATE TABLE blobs (
    sha256    TEXT PRIMARY KEY,
    size      INTEGER NOT NULL,
    stored_at INTEGER NOT NULL
);
CREATE TABLE statements (
    kind             TEXT NOT NULL,
    object_id        TEXT NOT NULL,
    statement_sha256 TEXT NOT NULL,
    blob_sha256      TEXT REFERENCES blobs(sha256),
    device_id        TEXT NOT NULL REFERENCES devices(device_id),
    inspection_id    TEXT,
    envelope         TEXT NOT NULL,
    receipt          TEXT NOT NULL,
    received_at      INTEGER NOT NULL,
    PRIMARY KEY (kind, object_id)
);
CREATE TABLE catalog (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL,
    id       TEXT NOT NULL,
    version  TEXT NOT NULL,
    audience TEXT NOT NULL,
    body     TEXT NOT NULL,
    UNIQUE (kind, id, audience)
);
CREATE INDEX catalog_audience ON catalog (audience, seq);

-- Intake metadata, version 1. Times are Unix milliseconds (UTC).
CREATE TABLE IF NOT EXISTS enrolment_codes (
    code_hash    TEXT PRIMARY KEY,
    inspector_id TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    device_id    TEXT
);
CREATE TABLE IF NOT EXISTS devices (
    device_id    TEXT PRIMARY KEY,
    inspector_id TEXT NOT NULL,
    key_id       TEXT NOT NULL UNIQUE,
    public_key   BYTEA NOT NULL,
    label        TEXT,
    enrolled_at  BIGINT NOT NULL,
    not_after    BIGINT NOT NULL,
    revoked_at   BIGINT,
    certificate  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS challenges (
    challenge  TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices(device_id),
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id       TEXT PRIMARY KEY,
    device_id       TEXT NOT NULL REFERENCES devices(device_id),
    length          BIGINT NOT NULL,
    "offset"        BIGINT NOT NULL,
    declared_sha256 TEXT NOT NULL,
    evidence_id     TEXT,
    created_at      BIGINT NOT NULL,
    completed       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE IF NOT EXISTS upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
    "offset"  BIGINT NOT NULL,
    length    BIGINT NOT NULL,
    key       TEXT NOT NULL,
    PRIMARY KEY (upload_id, "offset")
);
CREATE TABLE IF NOT EXISTS blobs (
    sha256    TEXT PRIMARY KEY,
    size      BIGINT NOT NULL,
    stored_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS statements (
    kind             TEXT NOT NULL,
    object_id        TEXT NOT NULL,
    statement_sha256 TEXT NOT NULL,
    blob_sha256      TEXT REFERENCES blobs(sha256),
    device_id        TEXT NOT NULL REFERENCES devices(device_id),
    inspection_id    TEXT,
    envelope         TEXT NOT NULL,
    receipt          TEXT NOT NULL,
    received_at      BIGINT NOT NULL,
    PRIMARY KEY (kind, object_id)
);
CREATE TABLE IF NOT EXISTS catalog (
    seq      BIGSERIAL PRIMARY KEY,
    kind     TEXT NOT NULL,
    id       TEXT NOT NULL,
    version  TEXT NOT NULL,
    audience TEXT NOT NULL,
    body     TEXT NOT NULL,
    UNIQUE (kind, id, audience)
);
CREATE INDEX IF NOT EXISTS catalog_audience ON catalog (audience, seq);

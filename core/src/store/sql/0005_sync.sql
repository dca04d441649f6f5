-- Migration 5: what sync learns from intake, and where each upload stands.

-- The tus upload a row is resuming (its URL on intake), so a restart asks the server for the
-- offset of the same upload instead of starting another; and the last transient failure, for the
-- status screen.
ALTER TABLE outbox ADD COLUMN upload_url TEXT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;

-- 设备注册 — this installation's enrolment with one intake (one row). The device certificate names
-- the inspector, so it is sealed with the column key; the server key and ids are not personal.
CREATE TABLE sync_enrolment (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    base_url TEXT NOT NULL,
    device_id TEXT NOT NULL,
    certificate BLOB NOT NULL,
    server_key TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    -- Server clock minus device clock, in milliseconds, last measured at clock_measured_at.
    clock_offset_ms INTEGER,
    clock_measured_at TEXT,
    -- The last position in intake's change feed this installation holds.
    pull_cursor TEXT NOT NULL DEFAULT ''
) STRICT;

-- Migration 8: an evidence original's vault copy released (释放本机副本) under the retention rule
-- (core/src/sync/release.rs). The evidence row, its signed manifest and its thumbnail stay; only
-- the encrypted original leaves the vault, after this row commits. Ids and hashes only: nothing
-- personal. A release is never undone, and never recorded for an upload intake has not
-- acknowledged: the trigger refuses it even if the code that checks the receipt were wrong.
CREATE TABLE evidence_releases (
    evidence_id TEXT PRIMARY KEY REFERENCES evidence (id),
    blob_id TEXT NOT NULL,
    -- The verified receipt the release rests on: its id and the blob hash it names.
    receipt_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    released_at TEXT NOT NULL,
    trail_hash TEXT NOT NULL
) STRICT;

CREATE TRIGGER evidence_releases_no_update BEFORE UPDATE ON evidence_releases
BEGIN SELECT RAISE(ABORT, 'a release is never changed'); END;
CREATE TRIGGER evidence_releases_no_delete BEFORE DELETE ON evidence_releases
BEGIN SELECT RAISE(ABORT, 'a release is never undone'); END;
CREATE TRIGGER evidence_releases_only_acknowledged BEFORE INSERT ON evidence_releases
WHEN NOT EXISTS (SELECT 1 FROM outbox WHERE kind = 'evidence' AND object_id = NEW.evidence_id
                 AND state = 'acknowledged' AND receipt IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'only an acknowledged upload is released'); END;

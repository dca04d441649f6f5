-- Migration 9: signed trail heads (锚定), see core/src/trail/anchor.rs.
--
-- One row per signed head, counter 1, 2, 3, ... across all streams. The envelope (the device's
-- signature over the statement, which names the inspection's state) is sealed with the column key;
-- counter, stream, seq and the hashes are what verification and the checkpoint compare, and are no
-- more telling than the trail's own plaintext columns.
CREATE TABLE trail_anchors (
    counter INTEGER PRIMARY KEY CHECK (counter >= 1),
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    head_hash TEXT NOT NULL,
    anchor_hash TEXT NOT NULL UNIQUE,
    envelope_enc BLOB NOT NULL,
    at TEXT NOT NULL,
    -- The server's countersignature over anchor_hash, once sync delivers one (set once).
    countersignature BLOB
) STRICT;

CREATE TRIGGER trail_anchors_no_delete BEFORE DELETE ON trail_anchors
BEGIN SELECT RAISE(ABORT, 'trail anchors are append-only'); END;
CREATE TRIGGER trail_anchors_no_update BEFORE UPDATE ON trail_anchors
WHEN OLD.countersignature IS NOT NULL OR NEW.counter IS NOT OLD.counter OR NEW.stream IS NOT OLD.stream
    OR NEW.seq IS NOT OLD.seq OR NEW.head_hash IS NOT OLD.head_hash OR NEW.anchor_hash IS NOT OLD.anchor_hash
    OR NEW.envelope_enc IS NOT OLD.envelope_enc OR NEW.at IS NOT OLD.at
BEGIN SELECT RAISE(ABORT, 'a trail anchor only gains its countersignature, once'); END;

-- Migration 6: uploads a person decided not to send (放弃上传).
-- Only a wedged outbox row can be discarded, with a reason: it leaves the work list for good, its
-- evidence stays sealed in the vault (nothing is deleted) and the decision is in the trail, whose
-- event hash is kept here. The outbox row stays as it was ('wedged', with the reason it stopped);
-- this table says it will never be sent, and a trigger keeps it so. The reason and the person are
-- sealed with the column key: free text can name people.
CREATE TABLE outbox_discarded (
    outbox_id INTEGER PRIMARY KEY REFERENCES outbox (id),
    reason_enc BLOB NOT NULL,
    by_enc BLOB NOT NULL,
    discarded_at TEXT NOT NULL,
    trail_hash TEXT NOT NULL
) STRICT;

CREATE TRIGGER outbox_discarded_no_update BEFORE UPDATE ON outbox_discarded
BEGIN SELECT RAISE(ABORT, 'a discarded upload stays discarded'); END;
CREATE TRIGGER outbox_discarded_no_delete BEFORE DELETE ON outbox_discarded
BEGIN SELECT RAISE(ABORT, 'a discarded upload stays discarded'); END;
CREATE TRIGGER outbox_discarded_not_sent BEFORE UPDATE OF state ON outbox
WHEN EXISTS (SELECT 1 FROM outbox_discarded WHERE outbox_id = OLD.id)
BEGIN SELECT RAISE(ABORT, 'a discarded upload is never sent'); END;

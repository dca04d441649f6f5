-- Migration 12: record documents bound to their revision and to their inspection's trail, as
-- inspection bodies are since migration 7 (issue 10, finding 3 for records). No table changes:
-- every document is sealed again as format 2, with its revision in the encryption context and a
-- trail head inside (store/record_body.rs). That needs the column key, so it is this migration's
-- data step, in the same transaction. A frozen row refuses every UPDATE; the trigger is lifted for
-- the re-seal only (the document inside is unchanged) and put back as it was.
DROP TRIGGER records_frozen_no_update;
-- fieldseal:data-step
CREATE TRIGGER records_frozen_no_update BEFORE UPDATE ON records WHEN OLD.state = 'frozen'
BEGIN SELECT RAISE(ABORT, 'a frozen record never changes; add an addendum'); END;

-- Migration 13: the task list's sealed summaries (issue 8, cold open). Since migration 11
-- everything the task list shows is only inside each inspection's sealed body, so the list opened
-- and parsed every whole body. Each inspection now also has the few fields the list shows, sealed
-- under the column key with its own context bound to the id and the revision, and written with
-- the body in the same transaction (see `store/inspection_summary.rs`). Nothing readable is added.
-- A table of its own rather than a column: `IF NOT EXISTS` keeps the migration safe to run again
-- on a file whose `user_version` was set back (as upgrade tests do).
CREATE TABLE IF NOT EXISTS inspection_summaries (
    inspection_id TEXT PRIMARY KEY REFERENCES inspections (id),
    summary_enc BLOB NOT NULL
) STRICT;

-- The data step seals the summary of every stored inspection whose body opens.
-- fieldseal:data-step

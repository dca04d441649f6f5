//! WAL 检查点 — when the `-wal` is copied into the database and emptied, so a superseded
//! ciphertext (an inspection or record body before its last change) does not linger on disk
//! (issue 10, finding 3; docs/decisions/0013-checkpoint-off-the-capture-path.md).
//!
//! A commit appends the pages it changed to the `-wal`; the database file keeps the old pages,
//! and an older frame of a page stays in the `-wal` until it is overwritten. A `TRUNCATE`
//! checkpoint copies the newest frames into the database (whose freed space `secure_delete`
//! zeroes) and empties the `-wal`: then neither file holds the old ciphertext.
//!
//! - [`Store::write`](super::Store::write) runs it right after its commit, on the same thread.
//! - [`Store::write_capture`](super::Store::write_capture) (the commit of a sealed capture) is
//!   durable when it returns, like every commit (`synchronous = FULL`); its checkpoint, two more
//!   fsyncs and a truncation the inspector would otherwise wait for, runs on a thread of its own
//!   right after. That thread holds the write connection, so the next write of any kind starts
//!   after it; [`Store::settle`](super::Store::settle) waits for it, and dropping the store does.
//!   An app killed in between leaves the old body in the files until the next open, whose own
//!   checkpoint removes it; an old body put back meanwhile is refused anyway, being older than its
//!   trail (`inspection_body`).
//! - An emptied `-wal` costs its next commit one more fsync: SQLite syncs a fresh WAL header before
//!   the first frame goes after it (so a reordered write cannot corrupt the database). The
//!   checkpoint thread pays that too, with a commit that changes nothing ([`prime_wal`]), so the
//!   next capture's commit is one fsync, as in the durability floor the ingest benchmark prints.

use std::{
    sync::{Arc, Mutex},
    thread::JoinHandle,
};

use rusqlite::Connection;

/// Copies the `-wal` into the database and empties it. Best effort: the commit before it already
/// stands, and a checkpoint that cannot run now (a reader holds the `-wal` past the busy timeout)
/// runs after a later write.
pub(super) fn truncate_wal(conn: &Connection) {
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

/// Writes a fresh WAL header, and syncs it, by a commit that changes nothing: the database
/// header's `user_version` rewritten with its own value, read in the same transaction. Best effort:
/// if it cannot run, the next commit writes the header itself.
fn prime_wal(conn: &Connection) {
    let rewrite = || -> rusqlite::Result<()> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        conn.execute_batch(&format!("PRAGMA user_version = {version}; COMMIT"))
    };
    if rewrite().is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// The checkpoint a capture's commit left to run after it returned: at most one at a time.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    running: Mutex<Option<JoinHandle<()>>>,
}

impl Deferred {
    /// Starts the checkpoint on its own thread, holding `writer` while it runs. If no thread can
    /// be started, it runs here and now: slower, never skipped.
    pub(super) fn start(&self, writer: &Arc<Mutex<Connection>>) {
        let mut running = super::lock(&self.running);
        // The previous one has already checkpointed (this capture's commit needed the connection
        // it held); joining only reaps its thread.
        if let Some(previous) = running.take() {
            let _ = previous.join();
        }
        let shared = Arc::clone(writer);
        let spawned = std::thread::Builder::new().name("fieldseal-wal-checkpoint".into()).spawn(move || {
            let conn = super::lock(&shared);
            truncate_wal(&conn);
            prime_wal(&conn);
        });
        match spawned {
            Ok(handle) => *running = Some(handle),
            Err(_) => truncate_wal(&super::lock(writer)),
        }
    }

    /// Returns once no checkpoint started by [`Deferred::start`] is running.
    pub(super) fn settle(&self) {
        if let Some(handle) = super::lock(&self.running).take() {
            // A panic inside SQLite's checkpoint is not expected; if one happened, the next
            // write's own checkpoint still runs.
            let _ = handle.join();
        }
    }
}

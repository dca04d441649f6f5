//! The installation's SQLite database and its encrypted blob vault.
//!
//! One door in: [`Store::open`] creates or opens `fieldseal.db` in the data directory, applies the
//! pragmas, migrates in one IMMEDIATE transaction, and unwraps the data key. All writes go through
//! [`Store::write`] (one transaction, committed only when the closure succeeds); reads go through
//! [`Store::read`] on a separate read-only connection, so a screen refresh never waits on an ingest.

pub mod anchors;
mod checkpoint;
mod error;
pub mod evidence;
mod inspection_body;
mod inspection_summary;
pub mod inspections;
mod keyring;
mod migrations;
pub mod notes;
mod open;
pub(crate) mod private_fs;
pub mod record_body;
mod sealed_metadata;
pub mod trail;
mod trail_binding;
#[cfg(test)]
mod upgrade_tests;
pub mod vault;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
};

use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use crate::crypto::Keyring;
pub use error::StoreError;
pub use migrations::LATEST_VERSION;
pub use vault::Vault;

use crate::{
    Result,
    crypto::KeyVault,
    installation::{Clock, SystemClock},
};

pub const DATABASE_FILE: &str = "fieldseal.db";

/// An open installation: database connections, keys and the vault.
pub struct Store {
    dir: PathBuf,
    /// Shared with the thread of a deferred checkpoint ([`Store::write_capture`]).
    writer: Arc<Mutex<Connection>>,
    reader: Mutex<Connection>,
    keys: Keyring,
    vault: Vault,
    checkpoint: checkpoint::Deferred,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating when absent) the store in `dir`, unwrapping its data key with `key_vault`.
    ///
    /// Never deletes or recreates a database it cannot open: evidence must not be destroyed
    /// automatically. A newer schema, a foreign key or a corrupt file is reported and left as it is.
    pub fn open(dir: impl AsRef<Path>, key_vault: &dyn KeyVault) -> Result<Store> {
        Self::open_with_clock(dir, key_vault, Arc::new(SystemClock))
    }

    /// [`Store::open`] with the installation's clock: the time every trail event records
    /// ([`clock_timestamp`]) is read from `clock`, so a test or a demo fixes it.
    pub fn open_with_clock(
        dir: impl AsRef<Path>,
        key_vault: &dyn KeyVault,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        let dir = dir.as_ref().to_owned();
        let (writer, reader, keys) = open::open_database(&dir, key_vault, clock)?;
        let vault = Vault::open(dir.join("vault"))?;
        Ok(Store {
            dir,
            writer: Arc::new(Mutex::new(writer)),
            reader: Mutex::new(reader),
            keys,
            vault,
            checkpoint: checkpoint::Deferred::default(),
        })
    }

    /// Runs `f` in one IMMEDIATE transaction; commits only if it returns `Ok`. Then checkpoints
    /// the `-wal`, so no ciphertext the transaction superseded is left on disk ([`checkpoint`]).
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>, &Keyring) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let value = commit(&mut conn, &self.keys, f)?;
        checkpoint::truncate_wal(&conn);
        Ok(value)
    }

    /// [`Store::write`] for the commit of a sealed capture: returns once the commit is durable,
    /// and leaves the checkpoint to a thread of its own, which the next write waits for. The
    /// inspector waits for the fsyncs that make the capture survive a flat battery, not for the
    /// ones that only scrub the `-wal` ([`checkpoint`]).
    pub fn write_capture<T>(&self, f: impl FnOnce(&Transaction<'_>, &Keyring) -> Result<T>) -> Result<T> {
        let value = commit(&mut lock(&self.writer), &self.keys, f)?;
        self.checkpoint.start(&self.writer);
        Ok(value)
    }

    /// Waits for a checkpoint [`Store::write_capture`] left running: afterwards no superseded
    /// ciphertext is in the database file or its `-wal`.
    pub fn settle(&self) {
        self.checkpoint.settle();
    }

    /// Runs `f` on the read-only connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection, &Keyring) -> Result<T>) -> Result<T> {
        let conn = lock(&self.reader);
        f(&conn, &self.keys)
    }

    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn schema_version(&self) -> Result<i64> {
        self.read(|conn, _| migrations::user_version(conn).map_err(Into::into))
    }
}

/// The form every stored timestamp takes: UTC, RFC 3339, milliseconds, so text order is time order.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// [`timestamp`] of the device clock now.
pub fn now_timestamp() -> String {
    timestamp(chrono::Utc::now())
}

/// [`timestamp`] of the store's clock now (the installation's, see [`Store::open_with_clock`]),
/// read through the write connection so code holding only a transaction gets the injected time.
///
/// A connection the store did not open has no installation clock (a test writing a file the way
/// an older version did, straight through rusqlite): the system clock stands in for it there.
pub fn clock_timestamp(conn: &Connection) -> Result<String> {
    match conn.query_row(&format!("SELECT {}()", open::CLOCK_FUNCTION), [], |r| r.get(0)) {
        Ok(at) => Ok(at),
        Err(rusqlite::Error::SqlInputError { ref msg, .. }) if msg.starts_with("no such function") => {
            Ok(now_timestamp())
        }
        Err(e) => Err(StoreError::sql("read the installation clock")(e).into()),
    }
}

impl Drop for Store {
    /// The files are left as [`Store::settle`] leaves them, whoever opens them next.
    fn drop(&mut self) {
        self.checkpoint.settle();
    }
}

/// One IMMEDIATE transaction running `f`, committed only if it returns `Ok`.
fn commit<T>(
    conn: &mut Connection,
    keys: &Keyring,
    f: impl FnOnce(&Transaction<'_>, &Keyring) -> Result<T>,
) -> Result<T> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sql("begin transaction"))?;
    let value = f(&tx, keys)?;
    tx.commit().map_err(StoreError::sql("commit"))?;
    Ok(value)
}

/// A panic while holding a connection leaves SQLite consistent (the transaction rolls back on drop),
/// so a poisoned lock is safe to take over rather than failing every later call.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

//! The one open path: directory checks, pragmas, migration, keys.

use std::{fs, path::Path, time::Duration};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::{DATABASE_FILE, Keyring, StoreError, migrations, private_fs};
use crate::{Result, crypto::KeyVault};

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQL function on the write connection that returns the installation clock's time as a
/// stored timestamp ([`super::clock_timestamp`]).
pub(super) const CLOCK_FUNCTION: &str = "fieldseal_clock";

/// Registers [`CLOCK_FUNCTION`] on `conn`, reading `clock` on every call.
pub(super) fn install_clock(
    conn: &Connection,
    clock: std::sync::Arc<dyn crate::installation::Clock>,
) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(CLOCK_FUNCTION, 0, FunctionFlags::SQLITE_UTF8, move |_| {
        Ok(super::timestamp(clock.now().with_timezone(&chrono::Utc)))
    })
    .map_err(StoreError::sql("install the installation clock"))?;
    Ok(())
}

pub(super) fn open_database(
    dir: &Path,
    key_vault: &dyn KeyVault,
    clock: std::sync::Arc<dyn crate::installation::Clock>,
) -> Result<(Connection, Connection, Keyring)> {
    ensure_writable_dir(dir)?;
    let path = dir.join(DATABASE_FILE);
    create_owner_only(&path)?;
    let mut writer = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Open { path: path.clone(), source })?;
    // Look before touching: a file from a newer app, or one that is not a database at all, must be
    // left byte-for-byte as it is, so this read happens before any pragma that writes.
    migrations::check_not_newer(&writer).map_err(|e| opening_failed(&path, e))?;
    configure(&writer).map_err(|source| StoreError::Open { path: path.clone(), source })?;
    // Before migrating: a migration that appends to the trail stamps it with this clock too.
    install_clock(&writer, clock)?;
    migrations::migrate(&mut writer, &|tx| Keyring::load_existing(tx, key_vault))?;
    // A migration that re-sealed rows leaves their plaintext pages in the `-wal` until checkpointed.
    let _ = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));

    let tx = writer
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sql("begin keyring transaction"))?;
    let keys = Keyring::load_or_create(&tx, key_vault, vault_has_blobs(dir))?;
    tx.commit().map_err(StoreError::sql("commit keyring"))?;

    let reader = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Open { path: path.clone(), source })?;
    reader.busy_timeout(BUSY_TIMEOUT).map_err(|source| StoreError::Open { path: path.clone(), source })?;
    reader
        .pragma_update(None, "temp_store", "MEMORY")
        .map_err(|source| StoreError::Open { path: path.clone(), source })?;
    Ok((writer, reader, keys))
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL lets the read connection see committed data while a long ingest writes.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    // FULL: a commit survives a flat battery, not just an app kill (DOMAIN.md requirement 9).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Overwrite deleted content with zeros, so an old ciphertext of a changed row is not left in a
    // free page of the database file.
    conn.pragma_update(None, "secure_delete", true)?;
    Ok(())
}

/// A `SchemaTooNew` stays as it is; any other failure to read the header means the file is not a
/// database we can open (corrupt, encrypted by something else), which is an open error.
fn opening_failed(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Sql { source, .. } => StoreError::Open { path: path.to_owned(), source },
        other => other,
    }
}

/// Whether the vault beside the database holds any committed blob (before the vault is opened).
fn vault_has_blobs(dir: &Path) -> bool {
    fs::read_dir(dir.join("vault").join("blobs")).is_ok_and(|mut entries| entries.next().is_some())
}

/// Creates the database file owner-only before SQLite sees it (SQLite would create it 0644, and
/// gives its `-wal` and `-shm` files the database file's permissions), and tightens the files of
/// an installation made before this rule. Opening for write without truncation changes no byte.
fn create_owner_only(path: &Path) -> Result<(), StoreError> {
    let open_error = |source| StoreError::Directory { path: path.to_owned(), source };
    private_fs::private_file_options().create(true).truncate(false).open(path).map_err(open_error)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = path.with_file_name(format!("{DATABASE_FILE}{suffix}"));
        private_fs::restrict_file(&file).map_err(open_error)?;
    }
    Ok(())
}

fn ensure_writable_dir(dir: &Path) -> Result<(), StoreError> {
    let dir_error = |source| StoreError::Directory { path: dir.to_owned(), source };
    private_fs::private_dir(dir).map_err(dir_error)?;
    // SQLite would fail later with a vaguer message; a probe file names the real problem.
    let probe = dir.join(".fieldseal-write-probe");
    fs::write(&probe, b"").map_err(dir_error)?;
    fs::remove_file(&probe).map_err(dir_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Error,
        crypto::{CryptoError, software_vault::KeyFileVault},
        store::{LATEST_VERSION, Store},
    };

    fn vault(dir: &Path, name: &str) -> KeyFileVault {
        KeyFileVault::open_or_create(dir.join(name)).unwrap()
    }

    #[test]
    fn a_fresh_store_is_wal_with_foreign_keys_at_the_latest_version() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().join("data"), &vault(tmp.path(), "kek")).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST_VERSION);
        store
            .write(|tx, _| {
                let mode: String = tx.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
                let fk: i64 = tx.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
                assert_eq!((mode.as_str(), fk), ("wal", 1));
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn reopening_with_the_same_vault_recovers_the_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let kek = vault(tmp.path(), "kek");
        let sealed = {
            let store = Store::open(tmp.path().join("data"), &kek).unwrap();
            store.keys().column.seal_str("ctx", "值").unwrap()
        };
        let store = Store::open(tmp.path().join("data"), &kek).unwrap();
        assert_eq!(store.keys().column.open_string("ctx", &sealed).unwrap(), "值");
    }

    #[test]
    fn a_different_vault_is_refused_and_the_database_is_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        drop(Store::open(&data, &vault(tmp.path(), "kek")).unwrap());
        let before = fs::read(data.join(DATABASE_FILE)).unwrap();
        let err = Store::open(&data, &vault(tmp.path(), "other")).unwrap_err();
        assert!(matches!(err, Error::Crypto(CryptoError::WrongKey)), "{err:?}");
        assert_eq!(fs::read(data.join(DATABASE_FILE)).unwrap(), before);
    }

    #[test]
    fn a_populated_store_without_its_keyring_row_does_not_open_and_is_left_unchanged() {
        // Finding 6 of issue #10: deleting the keyring row made the next open create a new data
        // key over a database full of data sealed with the old one.
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let kek = vault(tmp.path(), "kek");
        {
            let store = Store::open(&data, &kek).unwrap();
            store
                .write(|tx, keys| crate::store::notes::add(tx, keys, None, "现场", "记录").map(|_| ()))
                .unwrap();
        }
        {
            let conn = Connection::open(data.join(DATABASE_FILE)).unwrap();
            assert_eq!(conn.execute("DELETE FROM keyring", []).unwrap(), 1);
        }
        let before = fs::read(data.join(DATABASE_FILE)).unwrap();
        let err = Store::open(&data, &kek).unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::KeyringMissing { .. })), "{err:?}");
        assert_eq!(err.explain().code, "store.keyring_missing");
        assert_eq!(fs::read(data.join(DATABASE_FILE)).unwrap(), before, "the database was changed");
    }

    #[test]
    fn an_empty_database_beside_a_vault_with_blobs_does_not_get_a_new_key() {
        use std::io::Write;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let kek = vault(tmp.path(), "kek");
        {
            let store = Store::open(&data, &kek).unwrap();
            let mut blob = store.vault().begin("ev_1").unwrap();
            blob.write_all(b"sealed").unwrap();
            blob.commit().unwrap();
        }
        for name in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(data.join(format!("{DATABASE_FILE}{name}")));
        }
        let err = Store::open(&data, &kek).unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::KeyringMissing { .. })), "{err:?}");
    }

    #[test]
    fn a_database_from_a_newer_app_is_refused_and_left_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        fs::create_dir_all(&data).unwrap();
        {
            let conn = Connection::open(data.join(DATABASE_FILE)).unwrap();
            conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 999;").unwrap();
        }
        let before = fs::read(data.join(DATABASE_FILE)).unwrap();
        let err = Store::open(&data, &vault(tmp.path(), "kek")).unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::SchemaTooNew { found: 999, .. })), "{err:?}");
        assert_eq!(fs::read(data.join(DATABASE_FILE)).unwrap(), before);
        assert_eq!(err.explain().code, "store.schema_too_new");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_reported_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        fs::create_dir_all(&data).unwrap();
        let garbage = vec![0x5a; 8192];
        fs::write(data.join(DATABASE_FILE), &garbage).unwrap();
        let err = Store::open(&data, &vault(tmp.path(), "kek")).unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::Open { .. })), "{err:?}");
        assert_eq!(fs::read(data.join(DATABASE_FILE)).unwrap(), garbage);
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_directory_is_a_directory_error() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("ro");
        fs::create_dir_all(&data).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o555)).unwrap();
        // Root ignores directory permissions; the check is meaningful only for ordinary users.
        if fs::write(data.join("x"), b"").is_ok() {
            fs::remove_file(data.join("x")).unwrap();
            eprintln!("running as root: read-only directory cannot be simulated with permissions");
            return;
        }
        let err = Store::open(&data, &vault(tmp.path(), "kek")).unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::Directory { .. })), "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn database_wal_vault_and_blob_files_are_owner_only() {
        // Finding 6 of issue #10: the database and vault files were 0644, readable by any app or
        // user that can reach the directory.
        use std::{io::Write, os::unix::fs::PermissionsExt};
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let store = Store::open(&data, &vault(tmp.path(), "kek")).unwrap();
        store
            .write(|tx, _| {
                tx.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
                Ok(())
            })
            .unwrap();
        let mut blob = store.vault().begin("ev_1").unwrap();
        blob.write_all(b"ciphertext stand-in").unwrap();
        blob.commit().unwrap();
        let mut seen = Vec::new();
        let mut stack = vec![data.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let meta = fs::metadata(&path).unwrap();
                let mode = meta.permissions().mode() & 0o777;
                if meta.is_dir() {
                    assert_eq!(mode, 0o700, "{}", path.display());
                    stack.push(path.clone());
                } else {
                    assert_eq!(mode, 0o600, "{}", path.display());
                }
                seen.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        assert_eq!(fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
        for name in ["fieldseal.db", "fieldseal.db-wal", "fieldseal.db-shm", "vault", "blobs", "ev_1"] {
            assert!(seen.iter().any(|s| s == name), "{name} was not checked: {seen:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_installation_made_readable_by_others_is_tightened_when_it_opens() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        drop(Store::open(&data, &vault(tmp.path(), "kek")).unwrap());
        let db = data.join(DATABASE_FILE);
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
        drop(Store::open(&data, &vault(tmp.path(), "kek")).unwrap());
        assert_eq!(fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn a_path_under_a_regular_file_is_a_directory_error() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("file"), b"x").unwrap();
        let err = Store::open(tmp.path().join("file").join("data"), &vault(tmp.path(), "kek")).unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::Directory { .. })), "{err:?}");
        assert_eq!(err.explain().code, "store.directory");
    }
}

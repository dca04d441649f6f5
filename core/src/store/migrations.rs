//! Numbered, append-only schema migrations, applied in one IMMEDIATE transaction.
//!
//! A released migration is never edited: a change to the schema is a new file and a new entry.
//! `migrated_schema_equals_fresh_schema` proves that upgrading from every earlier version ends in
//! exactly the schema a new installation gets.
//!
//! A migration that must re-seal existing rows (SQL cannot encrypt) has a [`DataStep`]: its SQL
//! runs up to a line `-- fieldseal:data-step`, then the step with the store's keys, then the rest
//! of the SQL, all in the same transaction, so a store is never left half-converted.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{Keyring, StoreError};

/// Migration `i` (1-based) brings the schema from version `i - 1` to `i`.
const MIGRATIONS: &[&str] = &[
    include_str!("sql/0001_foundation.sql"),
    include_str!("sql/0002_inspections.sql"),
    include_str!("sql/0003_evidence.sql"),
    include_str!("sql/0004_records.sql"),
    include_str!("sql/0005_sync.sql"),
    include_str!("sql/0006_upload_discard.sql"),
    include_str!("sql/0007_inspection_revision_binding.sql"),
    include_str!("sql/0008_vault_release.sql"),
    include_str!("sql/0009_trail_anchors.sql"),
    include_str!("sql/0010_evidence_sealed_thumbnail.sql"),
    include_str!("sql/0011_sealed_metadata.sql"),
    include_str!("sql/0012_record_revision_binding.sql"),
    include_str!("sql/0013_inspection_summary.sql"),
];

pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Rewrites existing rows inside a migration. `keys` is `None` when the store has no keyring row
/// yet (a new installation); a step that finds rows to convert then refuses with `KeyringMissing`.
pub type DataStep = fn(&Transaction<'_>, Option<&Keyring>) -> crate::Result<()>;

/// The migrations (by version) that carry a [`DataStep`].
const DATA_STEPS: &[(i64, DataStep)] = &[
    (7, super::inspection_body::upgrade_to_format_2),
    (11, super::sealed_metadata::seal_register_rows),
    (12, super::record_body::upgrade_to_format_2),
    (13, super::inspection_body::seal_summaries),
];

/// Where a migration's SQL hands over to its [`DataStep`].
const DATA_STEP_MARKER: &str = "-- fieldseal:data-step";

/// Loads the store's existing keys for a [`DataStep`]; `Ok(None)` when there is no keyring row.
pub type LoadKeys<'a> = &'a dyn Fn(&Transaction<'_>) -> crate::Result<Option<Keyring>>;

pub fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(StoreError::sql("read schema version"))
}

/// Fails with `SchemaTooNew` before touching anything when the file comes from a newer app.
pub fn check_not_newer(conn: &Connection) -> Result<i64, StoreError> {
    let found = user_version(conn)?;
    if found > LATEST_VERSION {
        return Err(StoreError::SchemaTooNew { found, supported: LATEST_VERSION });
    }
    Ok(found)
}

/// Brings the schema to [`LATEST_VERSION`]; `load_keys` is called (once) only if a migration to
/// apply has a [`DataStep`].
pub fn migrate(conn: &mut Connection, load_keys: LoadKeys<'_>) -> crate::Result<()> {
    migrate_to(conn, LATEST_VERSION, load_keys)
}

pub(super) fn migrate_to(conn: &mut Connection, target: i64, load_keys: LoadKeys<'_>) -> crate::Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sql("begin migration"))?;
    // Re-read inside the write lock: another process may have migrated since we looked.
    let current = check_not_newer(&tx)?;
    let mut keys: Option<Option<Keyring>> = None;
    for version in current + 1..=target {
        let sql = MIGRATIONS[(version - 1) as usize];
        let failed = |source| StoreError::Migration { version, source };
        match DATA_STEPS.iter().find(|(v, _)| *v == version) {
            None => tx.execute_batch(sql).map_err(failed)?,
            Some((_, step)) => {
                let (before, after) = sql.split_once(DATA_STEP_MARKER).unwrap_or((sql, ""));
                tx.execute_batch(before).map_err(failed)?;
                if keys.is_none() {
                    keys = Some(load_keys(&tx)?);
                }
                step(&tx, keys.as_ref().and_then(Option::as_ref))?;
                tx.execute_batch(after).map_err(failed)?;
            }
        }
    }
    if target > current {
        tx.pragma_update(None, "user_version", target)
            .map_err(|source| StoreError::Migration { version: target, source })?;
    }
    tx.commit().map_err(|source| StoreError::Migration { version: target, source })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schema tests run on empty databases: no row to re-seal, so no keys.
    fn no_keys(_: &Transaction<'_>) -> crate::Result<Option<Keyring>> {
        Ok(None)
    }

    fn schema(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare("SELECT type, name, IFNULL(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))
            .unwrap()
            .map(|r| {
                let (t, n, sql) = r.unwrap();
                // `ALTER TABLE ... ADD COLUMN` leaves different whitespace than CREATE TABLE; compare shape.
                (t, n, sql.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .collect()
    }

    fn columns(conn: &Connection, table: &str) -> Vec<(String, String, bool, Option<String>, i64)> {
        let mut stmt = conn
            .prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)")
            .unwrap();
        stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn migrated_schema_equals_fresh_schema() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh, &no_keys).unwrap();
        for start in 1..LATEST_VERSION {
            let mut old = Connection::open_in_memory().unwrap();
            migrate_to(&mut old, start, &no_keys).unwrap();
            assert_eq!(user_version(&old).unwrap(), start);
            migrate(&mut old, &no_keys).unwrap();
            assert_eq!(user_version(&old).unwrap(), LATEST_VERSION);
            assert_eq!(
                schema(&old),
                schema(&fresh),
                "schema after migrating from v{start} differs from fresh"
            );
            for (kind, name, _) in schema(&fresh).into_iter().filter(|(k, _, _)| k == "table") {
                assert_eq!(columns(&old, &name), columns(&fresh, &name), "{kind} {name} from v{start}");
            }
        }
    }

    /// The committed schema after each migration (`sql/schema.snapshot`). Both sides used to come
    /// from the same scripts, so editing an old migration passed; now the schema each version
    /// produced when it shipped is written down, and a database made by that version must match.
    const SNAPSHOT: &str = include_str!("sql/schema.snapshot");
    const SNAPSHOT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/sql/schema.snapshot");

    fn render(conn: &Connection) -> String {
        let mut out = String::new();
        for (kind, name, sql) in schema(conn) {
            out.push_str(&format!("{kind} {name}: {sql}\n"));
            if kind == "table" {
                for (col, ty, not_null, default, pk) in columns(conn, &name) {
                    let default = default.unwrap_or_default();
                    out.push_str(&format!(
                        "  column {col} {ty} notnull={not_null} default={default} pk={pk}\n"
                    ));
                }
            }
        }
        out
    }

    fn sections(text: &str) -> Vec<(i64, String)> {
        let mut out: Vec<(i64, String)> = Vec::new();
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("== v") {
                out.push((v.trim().parse().expect("version header"), String::new()));
            } else if let Some((_, body)) = out.last_mut() {
                body.push_str(line);
                body.push('\n');
            }
        }
        out
    }

    #[test]
    fn the_schema_after_every_migration_matches_the_committed_snapshot() {
        let committed = sections(SNAPSHOT);
        let mut actual = Vec::new();
        for version in 1..=LATEST_VERSION {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate_to(&mut conn, version, &no_keys).unwrap();
            actual.push((version, render(&conn)));
        }
        // Adding a migration appends its section (old sections are never rewritten here):
        // FIELDSEAL_APPEND_SCHEMA_SNAPSHOT=1 cargo test -p fieldseal-core --lib schema_after
        if std::env::var_os("FIELDSEAL_APPEND_SCHEMA_SNAPSHOT").is_some() && committed.len() < actual.len() {
            assert_eq!(&actual[..committed.len()], &committed[..], "an old migration changed; not appending");
            let mut text = SNAPSHOT.to_owned();
            for (version, body) in &actual[committed.len()..] {
                text.push_str(&format!("== v{version}\n{body}"));
            }
            std::fs::write(SNAPSHOT_PATH, text).unwrap();
            panic!(
                "appended the new migration's schema to {SNAPSHOT_PATH}: review and commit it, then rerun"
            );
        }
        assert_eq!(
            committed.len(),
            actual.len(),
            "the snapshot has {} version(s) and the code {}: append the new migration's schema (see above)",
            committed.len(),
            actual.len()
        );
        for ((v, want), (_, got)) in committed.iter().zip(&actual) {
            assert_eq!(
                got, want,
                "the schema after migration {v} is not the one that shipped: migrations are append-only, so add a new one instead of editing it"
            );
        }
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &no_keys).unwrap();
        let before = schema(&conn);
        migrate(&mut conn, &no_keys).unwrap();
        assert_eq!(schema(&conn), before);
    }

    #[test]
    fn newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1).unwrap();
        assert!(matches!(
            migrate(&mut conn, &no_keys),
            Err(crate::Error::Store(StoreError::SchemaTooNew { .. }))
        ));
    }
}

//! Migration 11's data step (issue 10, finding 5): the register's enterprises and permits sealed by
//! position, the USCC kept only as a keyed hash. See `sql/0011_sealed_metadata.sql`.

use rusqlite::{Transaction, params};

use super::{
    Keyring, StoreError,
    inspections::{enterprise_context, permit_context, uscc_lookup},
};
use crate::Result;

/// Copies every stored register's enterprises and permits from the version-10 tables (plain USCC,
/// ids, permit numbers; permits as plain JSON) into the sealed ones the migration created.
///
/// An enterprise record that does not open under its old context (damaged before the upgrade) is
/// carried over as it is: it stays unreadable, and loading that register fails as it did before,
/// instead of this upgrade refusing to open the whole store.
pub(super) fn seal_register_rows(tx: &Transaction<'_>, keys: Option<&Keyring>) -> Result<()> {
    let enterprises = {
        let mut stmt = tx
            .prepare("SELECT register_version, position, id, uscc, record_enc FROM register_enterprises")
            .map_err(StoreError::sql("read register enterprises"))?;
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })
        .map_err(StoreError::sql("read register enterprises"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::sql("read register enterprises"))?
    };
    let permits = {
        let mut stmt = tx
            .prepare("SELECT register_version, position, record FROM register_permits")
            .map_err(StoreError::sql("read register permits"))?;
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))
            .map_err(StoreError::sql("read register permits"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::sql("read register permits"))?
    };
    if enterprises.is_empty() && permits.is_empty() {
        return Ok(());
    }
    let keys =
        keys.ok_or_else(|| StoreError::KeyringMissing { found: "table register_enterprises".into() })?;
    for (version, position, id, uscc, sealed) in enterprises {
        let record = match keys.column.open(&format!("register_enterprises:{version}:{id}"), &sealed) {
            Ok(plain) => keys.column.seal(&enterprise_context(&version, position), &plain)?,
            Err(_) => sealed,
        };
        tx.execute(
            "INSERT INTO register_enterprises_sealed (register_version, position, uscc_lookup, record_enc)
             VALUES (?1, ?2, ?3, ?4)",
            params![version, position, uscc_lookup(keys, &uscc), record],
        )
        .map_err(StoreError::sql("seal register enterprise"))?;
    }
    for (version, position, record) in permits {
        tx.execute(
            "INSERT INTO register_permits_sealed (register_version, position, record_enc) VALUES (?1, ?2, ?3)",
            params![version, position, keys.column.seal(&permit_context(&version, position), record.as_bytes())?],
        )
        .map_err(StoreError::sql("seal register permit"))?;
    }
    Ok(())
}

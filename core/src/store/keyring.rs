//! Loading the installation's keys from the `keyring` table: the wrapped data key and its check
//! value, created on first open. The [`Keyring`] itself is the crypto module's.

use chrono::Utc;
use ring::rand::SystemRandom;
use rusqlite::{OptionalExtension, Transaction, params};

use super::StoreError;
use crate::{
    Result,
    crypto::{CryptoError, DataKey, KeyVault, Keyring},
};

const KEY_CHECK_CONTEXT: &str = "keyring.key_check";
const KEY_CHECK_PLAINTEXT: &[u8] = b"fieldseal key check v1";

impl Keyring {
    /// Loads the installation's data key, or creates it on first open, inside `tx`. A store that
    /// already holds data (any row in any table, or `vault_blobs` found) but no keyring row is
    /// refused rather than given a new key: see [`StoreError::KeyringMissing`].
    pub(super) fn load_or_create(
        tx: &Transaction<'_>,
        vault: &dyn KeyVault,
        vault_blobs: bool,
    ) -> Result<Self> {
        match Self::load_existing(tx, vault)? {
            Some(keys) => Ok(keys),
            None => {
                if let Some(found) = first_populated_table(tx)? {
                    return Err(StoreError::KeyringMissing { found: format!("table {found}") }.into());
                }
                if vault_blobs {
                    return Err(StoreError::KeyringMissing { found: "vault blobs".into() }.into());
                }
                let key = DataKey::generate(&SystemRandom::new())?;
                let keys = Self::from_data_key(&key);
                let check = keys.column.seal(KEY_CHECK_CONTEXT, KEY_CHECK_PLAINTEXT)?;
                tx.execute(
                    "INSERT INTO keyring (id, wrapped_data_key, key_check, created_at) VALUES (1, ?1, ?2, ?3)",
                    params![key.wrap(vault)?, check, Utc::now().to_rfc3339()],
                )
                .map_err(StoreError::sql("create keyring"))?;
                Ok(keys)
            }
        }
    }
}

impl Keyring {
    /// The installation's keys if its keyring row exists (checked against the stored key-check
    /// value), `None` before the first open created it. Migrations that re-seal rows use this.
    pub(super) fn load_existing(tx: &Transaction<'_>, vault: &dyn KeyVault) -> Result<Option<Self>> {
        let row: Option<(Vec<u8>, Vec<u8>)> = tx
            .query_row("SELECT wrapped_data_key, key_check FROM keyring WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(StoreError::sql("read keyring"))?;
        let Some((wrapped, check)) = row else { return Ok(None) };
        let key = DataKey::unwrap_from(vault, &wrapped)?;
        let keys = Self::from_data_key(&key);
        match keys.column.open(KEY_CHECK_CONTEXT, &check) {
            Ok(plain) if plain == KEY_CHECK_PLAINTEXT => Ok(Some(keys)),
            _ => Err(CryptoError::WrongKey.into()),
        }
    }
}

/// The first table other than `keyring` that holds a row, if any. Table names come from the
/// schema itself, quoted as identifiers.
fn first_populated_table(tx: &Transaction<'_>) -> Result<Option<String>> {
    let mut stmt = tx
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name <> 'keyring'
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .map_err(StoreError::sql("list tables"))?;
    let tables = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(StoreError::sql("list tables"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::sql("list tables"))?;
    for table in tables {
        let quoted = table.replace('"', "\"\"");
        let found: bool = tx
            .query_row(&format!("SELECT EXISTS (SELECT 1 FROM \"{quoted}\")"), [], |r| r.get(0))
            .map_err(StoreError::sql("check table contents"))?;
        if found {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

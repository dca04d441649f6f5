//! 现场备注 — an inspector's free-text field notes, optionally tied to an inspection.
//! Title and body can name people, so both are sealed; only ids and times are plain.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{Keyring, StoreError, now_timestamp};
use crate::{Result, id::new_id};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Note {
    pub id: String,
    pub inspection_id: Option<String>,
    pub created_at: String,
    pub title: String,
    pub body: String,
}

pub fn add(
    tx: &Transaction<'_>,
    keys: &Keyring,
    inspection_id: Option<&str>,
    title: &str,
    body: &str,
) -> Result<Note> {
    let id = new_id()?;
    let created_at = now_timestamp();
    tx.execute(
        "INSERT INTO notes (id, inspection_id, created_at, title_enc, body_enc) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            inspection_id,
            created_at,
            keys.column.seal_str(&context("title", &id), title)?,
            keys.column.seal_str(&context("body", &id), body)?
        ],
    )
    .map_err(StoreError::sql("save note"))?;
    Ok(Note {
        id,
        inspection_id: inspection_id.map(str::to_owned),
        created_at,
        title: title.to_owned(),
        body: body.to_owned(),
    })
}

pub fn get(conn: &Connection, keys: &Keyring, id: &str) -> Result<Note> {
    conn.query_row(
        "SELECT id, inspection_id, created_at, title_enc, body_enc FROM notes WHERE id = ?1",
        [id],
        row_parts,
    )
    .optional()
    .map_err(StoreError::sql("read note"))?
    .ok_or_else(|| StoreError::NotFound { what: format!("note {id}") })?
    .open(keys)
}

/// 备注列表 — the notes newest first. A note that does not open (one corrupt row) is skipped and
/// named here instead of failing the whole list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NoteList {
    pub notes: Vec<Note>,
    /// How many rows did not open.
    pub skipped: u64,
    /// Their note ids (no content).
    pub skipped_ids: Vec<String>,
}

/// Notes newest first; rows that do not open are skipped and reported in the list.
pub fn list(conn: &Connection, keys: &Keyring) -> Result<NoteList> {
    let mut stmt = conn
        .prepare("SELECT id, inspection_id, created_at, title_enc, body_enc FROM notes ORDER BY created_at DESC, id")
        .map_err(StoreError::sql("list notes"))?;
    let rows = stmt.query_map([], row_parts).map_err(StoreError::sql("list notes"))?;
    let mut list = NoteList { notes: Vec::new(), skipped: 0, skipped_ids: Vec::new() };
    for row in rows {
        let sealed = row.map_err(StoreError::sql("list notes"))?;
        let id = sealed.id.clone();
        match sealed.open(keys) {
            Ok(note) => list.notes.push(note),
            Err(_) => {
                list.skipped += 1;
                list.skipped_ids.push(id);
            }
        }
    }
    Ok(list)
}

struct SealedNote {
    id: String,
    inspection_id: Option<String>,
    created_at: String,
    title: Vec<u8>,
    body: Vec<u8>,
}

impl SealedNote {
    fn open(self, keys: &Keyring) -> Result<Note> {
        Ok(Note {
            title: keys.column.open_string(&context("title", &self.id), &self.title)?,
            body: keys.column.open_string(&context("body", &self.id), &self.body)?,
            id: self.id,
            inspection_id: self.inspection_id,
            created_at: self.created_at,
        })
    }
}

fn row_parts(r: &rusqlite::Row<'_>) -> rusqlite::Result<SealedNote> {
    Ok(SealedNote {
        id: r.get(0)?,
        inspection_id: r.get(1)?,
        created_at: r.get(2)?,
        title: r.get(3)?,
        body: r.get(4)?,
    })
}

fn context(field: &str, id: &str) -> String {
    format!("notes.{field}:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{crypto::software_vault::KeyFileVault, store::Store};

    #[test]
    fn notes_round_trip_and_no_plaintext_reaches_the_database_file() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
        let secret = "现场负责人王建国称废水旁路阀已于昨日关闭";
        let note = {
            let store = Store::open(tmp.path().join("data"), &vault).unwrap();
            let note = store.write(|tx, keys| add(tx, keys, Some("insp-1"), "旁路阀", secret)).unwrap();
            assert_eq!(store.read(|c, k| get(c, k, &note.id)).unwrap(), note);
            note
        };
        let store = Store::open(tmp.path().join("data"), &vault).unwrap();
        assert_eq!(store.read(list).unwrap().notes, vec![note]);
        drop(store);
        for file in ["fieldseal.db", "fieldseal.db-wal"] {
            if let Ok(bytes) = std::fs::read(tmp.path().join("data").join(file)) {
                let needle = "王建国".as_bytes();
                assert!(!bytes.windows(needle.len()).any(|w| w == needle), "plaintext found in {file}");
            }
        }
    }

    #[test]
    fn one_corrupt_note_is_skipped_and_named_and_the_rest_still_list() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
        let store = Store::open(tmp.path().join("data"), &vault).unwrap();
        let good = store.write(|tx, keys| add(tx, keys, None, "排污口", "颜色异常")).unwrap();
        let bad = store.write(|tx, keys| add(tx, keys, None, "旁路阀", "已关闭")).unwrap();
        // The other note's sealed title put in this row: it no longer opens under this row's id.
        store
            .write(|tx, _| {
                tx.execute(
                    "UPDATE notes SET title_enc = (SELECT title_enc FROM notes WHERE id = ?1) WHERE id = ?2",
                    [&good.id, &bad.id],
                )
                .map_err(StoreError::sql("tamper"))?;
                Ok(())
            })
            .unwrap();
        let listed = store.read(list).unwrap();
        assert_eq!(listed.notes, vec![good]);
        assert_eq!((listed.skipped, listed.skipped_ids), (1, vec![bad.id.clone()]));
        assert!(store.read(|c, k| get(c, k, &bad.id)).is_err(), "reading it alone still fails");
    }

    #[test]
    fn a_missing_note_is_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
        let store = Store::open(tmp.path().join("data"), &vault).unwrap();
        let err = store.read(|c, k| get(c, k, "nope")).unwrap_err();
        assert_eq!(err.explain().code, "store.not_found");
    }
}

//! Rows of `records` and `record_signatures` (migration 4). Statements, strokes and images are
//! sealed with the column key under `table.column:id`; documents are sealed bound to their
//! revision and their inspection's trail ([`crate::store::record_body`], migration 12), so an
//! older copy of a draft put back is refused. A frozen row is refused any UPDATE by the database
//! itself.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{RecordError, content::DocumentKind, document::RecordDocument, layout::SignerRole};
use crate::{
    Result,
    protocol::SignedEnvelope,
    store::{
        Keyring, StoreError, now_timestamp,
        record_body::{self, Expected},
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    Draft,
    Frozen,
}

impl RecordState {
    pub fn code(self) -> &'static str {
        match self {
            RecordState::Draft => "draft",
            RecordState::Frozen => "frozen",
        }
    }
}

/// A record document row with its sealed parts opened and its hash re-checked.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: String,
    pub inspection_id: String,
    pub kind: DocumentKind,
    pub amends_record_id: Option<String>,
    pub revision: u32,
    pub document_hash: String,
    pub state: RecordState,
    pub document: RecordDocument,
    pub freeze: Option<SignedEnvelope>,
}

/// A signature or refusal row, opened.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    pub id: String,
    pub record_id: String,
    /// `signature` or `refusal`.
    pub entry: String,
    pub role: SignerRole,
    pub document_hash: String,
    pub envelope: SignedEnvelope,
    /// Canonical JSON of the strokes (signatures only).
    pub strokes_json: Option<Vec<u8>>,
    pub image_png: Option<Vec<u8>>,
}

fn ctx(column: &str, id: &str) -> String {
    format!("{column}:{id}")
}

fn corrupt(id: &str, what: impl Into<String>) -> crate::Error {
    RecordError::Corrupt { record_id: id.to_owned(), what: what.into() }.into()
}

fn seal_document(conn: &Connection, keys: &Keyring, r: &StoredRecord) -> Result<Vec<u8>> {
    record_body::seal(conn, keys, &r.id, &r.inspection_id, r.revision, &r.document)
}

/// Saves a new draft; its document is sealed with the trail head before the caller appends the
/// draft's event (that append moves the head, see [`record_body::follow_trail`]).
pub fn insert_record(tx: &Transaction<'_>, keys: &Keyring, r: &StoredRecord) -> Result<()> {
    tx.execute(
        "INSERT INTO records (id, inspection_id, kind, amends_record_id, revision, document_hash, state, body_enc, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', ?7, ?8)",
        params![
            r.id,
            r.inspection_id,
            r.kind.code(),
            r.amends_record_id,
            r.revision,
            r.document_hash,
            seal_document(tx, keys, r)?,
            now_timestamp()
        ],
    )
    .map_err(StoreError::sql("save record"))?;
    Ok(())
}

/// Replaces a draft's document (a revision). The `state = 'draft'` guard and the trigger both
/// keep a frozen record as it is.
pub fn update_draft(tx: &Transaction<'_>, keys: &Keyring, r: &StoredRecord) -> Result<()> {
    let n = tx
        .execute(
            "UPDATE records SET revision = ?2, document_hash = ?3, body_enc = ?4 WHERE id = ?1 AND state = 'draft'",
            params![r.id, r.revision, r.document_hash, seal_document(tx, keys, r)?],
        )
        .map_err(StoreError::sql("revise record"))?;
    if n != 1 {
        return Err(RecordError::Frozen { record_id: r.id.clone(), action: "revise" }.into());
    }
    Ok(())
}

pub fn mark_frozen(tx: &Transaction<'_>, keys: &Keyring, id: &str, freeze: &SignedEnvelope) -> Result<()> {
    let text = freeze.to_json_string()?;
    let n = tx
        .execute(
            "UPDATE records SET state = 'frozen', freeze_enc = ?2, frozen_at = ?3 WHERE id = ?1 AND state = 'draft'",
            params![id, keys.column.seal_str(&ctx("records.freeze", id), &text)?, now_timestamp()],
        )
        .map_err(StoreError::sql("freeze record"))?;
    if n != 1 {
        return Err(RecordError::Frozen { record_id: id.to_owned(), action: "freeze" }.into());
    }
    Ok(())
}

type RecordRow = (String, String, String, Option<String>, u32, String, String, Vec<u8>, Option<Vec<u8>>);

const RECORD_COLUMNS: &str =
    "id, inspection_id, kind, amends_record_id, revision, document_hash, state, body_enc, freeze_enc";

fn record_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
}

/// What a freeze statement signs about the row it froze (the rest is checked by
/// [`super::statements::verify_freeze`] against the device key).
#[derive(serde::Deserialize)]
struct FrozenAt {
    revision: u32,
    document_hash: String,
    trail_head: FrozenHead,
}

#[derive(serde::Deserialize)]
struct FrozenHead {
    seq: i64,
    hash: String,
}

fn open_record(conn: &Connection, keys: &Keyring, row: RecordRow) -> Result<StoredRecord> {
    let (id, inspection_id, kind, amends_record_id, revision, document_hash, state, body, freeze) = row;
    let state = if state == "frozen" { RecordState::Frozen } else { RecordState::Draft };
    let freeze = freeze
        .map(|f| -> Result<SignedEnvelope> {
            SignedEnvelope::from_json_str(&keys.column.open_string(&ctx("records.freeze", &id), &f)?)
        })
        .transpose()?;
    // A draft names its trail's current head; a frozen record the head, revision and document
    // its freeze statement signed, so an older document put into a frozen row is refused too.
    let frozen_at = match (state, &freeze) {
        (RecordState::Draft, _) => None,
        (RecordState::Frozen, None) => {
            return Err(corrupt(&id, "a frozen record without its freeze statement"));
        }
        (RecordState::Frozen, Some(envelope)) => Some(
            serde_json::from_value::<FrozenAt>(envelope.payload.clone())
                .map_err(|e| corrupt(&id, format!("freeze statement: {e}")))?,
        ),
    };
    let expected = match &frozen_at {
        None => Expected::Current,
        Some(f) => Expected::Frozen { seq: f.trail_head.seq, hash: &f.trail_head.hash },
    };
    let document: RecordDocument =
        record_body::open(conn, keys, &id, &inspection_id, revision, expected, &body)?;
    if document.document_hash()? != document_hash {
        return Err(corrupt(&id, "the document does not match its stored hash"));
    }
    if let Some(f) = &frozen_at
        && (f.revision != revision || f.document_hash != document_hash)
    {
        return Err(StoreError::RecordTrailMismatch {
            record_id: id,
            stored_seq: f.trail_head.seq,
            trail_seq: f.trail_head.seq,
        }
        .into());
    }
    let kind = match kind.as_str() {
        "record" => DocumentKind::Record,
        _ => DocumentKind::Addendum,
    };
    Ok(StoredRecord {
        id,
        inspection_id,
        kind,
        amends_record_id,
        revision,
        document_hash,
        state,
        document,
        freeze,
    })
}

pub fn load_record(conn: &Connection, keys: &Keyring, id: &str) -> Result<StoredRecord> {
    let row = conn
        .query_row(&format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1"), [id], record_row)
        .optional()
        .map_err(StoreError::sql("read record"))?
        .ok_or_else(|| RecordError::NotFound { what: format!("record {id}") })?;
    open_record(conn, keys, row)
}

/// The records of an inspection, oldest first (the record, then its addenda).
pub fn records_of_inspection(
    conn: &Connection,
    keys: &Keyring,
    inspection_id: &str,
) -> Result<Vec<StoredRecord>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE inspection_id = ?1 ORDER BY created_at, rowid"
        ))
        .map_err(StoreError::sql("list records"))?;
    let rows = stmt
        .query_map([inspection_id], record_row)
        .map_err(StoreError::sql("list records"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(StoreError::sql("list records"))?;
    rows.into_iter().map(|row| open_record(conn, keys, row)).collect()
}

pub fn insert_entry(tx: &Transaction<'_>, keys: &Keyring, e: &StoredEntry) -> Result<()> {
    let statement = e.envelope.to_json_string()?;
    let strokes = e
        .strokes_json
        .as_ref()
        .map(|s| keys.column.seal(&ctx("record_signatures.strokes", &e.id), s))
        .transpose()?;
    let image = e
        .image_png
        .as_ref()
        .map(|s| keys.column.seal(&ctx("record_signatures.image", &e.id), s))
        .transpose()?;
    tx.execute(
        "INSERT INTO record_signatures (id, record_id, entry, role, document_hash, statement_enc, strokes_enc, image_enc, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.id,
            e.record_id,
            e.entry,
            e.role.code(),
            e.document_hash,
            keys.column.seal_str(&ctx("record_signatures.statement", &e.id), &statement)?,
            strokes,
            image,
            now_timestamp()
        ],
    )
    .map_err(StoreError::sql("save signature"))?;
    Ok(())
}

/// Every signature and refusal given on a record, in the order given (all revisions).
pub fn entries_of_record(conn: &Connection, keys: &Keyring, record_id: &str) -> Result<Vec<StoredEntry>> {
    let mut stmt = conn
        .prepare(
            "SELECT id, entry, role, document_hash, statement_enc, strokes_enc, image_enc FROM record_signatures
             WHERE record_id = ?1 ORDER BY created_at, rowid",
        )
        .map_err(StoreError::sql("list signatures"))?;
    type Row = (String, String, String, String, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);
    let rows: Vec<Row> = stmt
        .query_map([record_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .map_err(StoreError::sql("list signatures"))?
        .collect::<rusqlite::Result<_>>()
        .map_err(StoreError::sql("list signatures"))?;
    rows.into_iter()
        .map(|(id, entry, role, document_hash, statement, strokes, image)| {
            let role = match role.as_str() {
                "inspector" => SignerRole::Inspector,
                "party" => SignerRole::Party,
                "witness" => SignerRole::Witness,
                _ => return Err(corrupt(record_id, "unknown signer role")),
            };
            let envelope = SignedEnvelope::from_json_str(
                &keys.column.open_string(&ctx("record_signatures.statement", &id), &statement)?,
            )?;
            let strokes_json =
                strokes.map(|s| keys.column.open(&ctx("record_signatures.strokes", &id), &s)).transpose()?;
            let image_png =
                image.map(|s| keys.column.open(&ctx("record_signatures.image", &id), &s)).transpose()?;
            Ok(StoredEntry {
                id,
                record_id: record_id.to_owned(),
                entry,
                role,
                document_hash,
                envelope,
                strokes_json,
                image_png,
            })
        })
        .collect()
}

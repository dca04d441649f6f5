//! 任务摘要密文 — the task list's part of an inspection, sealed in `inspection_summaries` beside its
//! body, so a cold task list opens a few hundred bytes per row instead of whole inspections.
//!
//! The summary is a cache of the body, never a second truth:
//! - it is written with the body, in the same transaction, by every save and by every trail
//!   append that moves the body's recorded head ([`super::inspection_body::follow_trail`]);
//! - it is sealed under the column key with its own context, `inspections.summary:<id>:r<revision>`,
//!   so it opens only beside the revision it was written with, and never as a body or another row's
//!   summary (no metadata is readable from the database file: issue 10, finding 5);
//! - it records the same trail head as its body; the list compares it with the stream's head.
//!
//! A summary that is missing (written before migration 13 from a body that did not open), does not
//! open, or names another head than its stream's is not used: the list opens that row's body
//! instead, which refuses a stale or damaged body exactly as a load does.

use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{Keyring, StoreError, inspection_body::TrailHead};
use crate::{
    Result,
    model::{Inspection, TaskSummary},
};

/// The sealed summary's format.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct SealedSummary<T> {
    v: u32,
    /// The head its body recorded when both were written.
    trail_head: Option<TrailHead>,
    summary: T,
}

fn context(id: &str, revision: u64) -> String {
    format!("inspections.summary:{id}:r{revision}")
}

fn corrupt(id: &str, reason: impl Into<String>) -> crate::Error {
    StoreError::Corrupt { what: format!("task summary of inspection {id}"), reason: reason.into() }.into()
}

fn seal_with<T: Serialize>(
    keys: &Keyring,
    id: &str,
    revision: u64,
    sealed: &SealedSummary<T>,
) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(sealed).map_err(|e| corrupt(id, e.to_string()))?;
    Ok(keys.column.seal(&context(id, revision), &json)?)
}

fn open_as<T: DeserializeOwned>(
    keys: &Keyring,
    id: &str,
    revision: u64,
    sealed: &[u8],
) -> Option<SealedSummary<T>> {
    let json = keys.column.open(&context(id, revision), sealed).ok()?;
    serde_json::from_slice::<SealedSummary<T>>(&json).ok().filter(|s| s.v == FORMAT)
}

/// Seals the summary of `inspection` as its body is sealed, with the head the body records.
pub(super) fn seal(
    keys: &Keyring,
    inspection: &Inspection,
    trail_head: Option<&TrailHead>,
) -> Result<Vec<u8>> {
    let sealed =
        SealedSummary { v: FORMAT, trail_head: trail_head.cloned(), summary: TaskSummary::of(inspection) };
    seal_with(keys, inspection.id(), inspection.revision(), &sealed)
}

/// Stores (or replaces) the sealed summary of inspection `id`, in the caller's transaction.
pub(super) fn store(tx: &Transaction<'_>, id: &str, sealed: &[u8]) -> Result<()> {
    tx.execute(
        "INSERT INTO inspection_summaries (inspection_id, summary_enc) VALUES (?1, ?2)
         ON CONFLICT (inspection_id) DO UPDATE SET summary_enc = excluded.summary_enc",
        params![id, sealed],
    )
    .map_err(StoreError::sql("save task summary"))?;
    Ok(())
}

/// The summary of row `id` at `revision`, when it opens and names `stream_head` (the current head
/// of the inspection's stream); `None` tells the caller to open the body instead.
pub(super) fn open_current(
    keys: &Keyring,
    id: &str,
    revision: u64,
    sealed: &[u8],
    stream_head: Option<&TrailHead>,
) -> Option<TaskSummary> {
    let opened = open_as::<TaskSummary>(keys, id, revision, sealed)?;
    (opened.trail_head.as_ref() == stream_head).then_some(opened.summary)
}

/// The summary re-sealed with its recorded head moved from `before` to `after` (the body's head
/// moving with a trail append), or `None` when it does not open or was not at `before`: a stale
/// summary is left stale, and the list then reads the body.
pub(super) fn follow(
    keys: &Keyring,
    id: &str,
    revision: u64,
    sealed: &[u8],
    before: Option<&TrailHead>,
    after: &TrailHead,
) -> Result<Option<Vec<u8>>> {
    let Some(mut opened) = open_as::<serde_json::Value>(keys, id, revision, sealed) else { return Ok(None) };
    if opened.trail_head.as_ref() != before {
        return Ok(None);
    }
    opened.trail_head = Some(after.clone());
    seal_with(keys, id, revision, &opened).map(Some)
}

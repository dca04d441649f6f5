//! 孤儿清理 — evidence blobs no row names. A crash between a blob's commit and its row's commit
//! leaves one; nothing will ever point to it (the capture's input file was kept, so the app can
//! ingest it again), so startup recovery removes it before any ingest can run.

use crate::{
    Result,
    store::{Store, evidence as rows},
};

/// Vault blob ids of evidence: `ev_<id>` for the original, `ev_<id>_thumb` for its thumbnail. The
/// prefix lets the orphan sweep touch evidence blobs only.
const BLOB_PREFIX: &str = "ev_";
pub(super) const THUMBNAIL_SUFFIX: &str = "_thumb";

pub(crate) fn blob_id(evidence_id: &str) -> String {
    format!("{BLOB_PREFIX}{evidence_id}")
}

/// Removes vault blobs that no evidence row names: left by a crash between blob commit and row
/// commit. Call once when the store opens, before any ingest can be running.
pub fn sweep_orphan_blobs(store: &Store) -> Result<Vec<String>> {
    let referenced = store.read(|conn, _| rows::referenced_blob_ids(conn))?;
    let mut removed = Vec::new();
    for id in store.vault().blob_ids()? {
        if id.starts_with(BLOB_PREFIX) && !referenced.contains(&id) {
            store.vault().remove(&id)?;
            removed.push(id);
        }
    }
    Ok(removed)
}

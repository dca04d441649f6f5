//! 启动恢复 — what the app does each time it opens the store, before any ingest can run.
//!
//! - Vault blobs that no evidence row names are removed: a crash between a blob's commit and its
//!   row's commit leaves one, and nothing will ever point to it (the capture's input file was kept,
//!   so the app can ingest it again).
//! - Every decrypted viewing copy is deleted: plaintext of evidence exists on disk only while a
//!   screen shows it, and no screen survives a restart.
//!
//! Partial vault files (`vault/tmp`) are already removed by the vault when the store opens.

use crate::{
    Result,
    evidence::{self, view},
    store::Store,
};

/// What recovery cleaned up, for diagnostics. Counts only: blob ids and file names stay out of
/// anything a screen or a log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    /// Sealed blobs (originals or thumbnails) of captures that never committed.
    pub orphan_blobs_removed: usize,
    /// Decrypted viewing copies left from the previous run.
    pub views_cleared: usize,
}

/// Runs recovery. Call it right after [`Store::open`] and before anything can start an ingest: the
/// orphan sweep would otherwise remove the blob of a capture that is about to commit.
pub fn recover(store: &Store) -> Result<RecoveryReport> {
    let orphans = evidence::sweep_orphan_blobs(store)?;
    let views = view::clear_views(store)?;
    Ok(RecoveryReport { orphan_blobs_removed: orphans.len(), views_cleared: views })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::{
        checklist::EvidenceKind,
        crypto::{signer::SoftwareSigner, software_vault::KeyFileVault},
        protocol::SignedEnvelope,
        store::evidence::{self as rows, NewEvidence},
    };

    fn blob(store: &Store, id: &str) {
        let mut pending = store.vault().begin(id).unwrap();
        pending.write_all(b"sealed bytes stand-in").unwrap();
        pending.commit().unwrap();
    }

    #[test]
    fn recovery_removes_orphan_blobs_and_viewing_copies_and_keeps_committed_evidence() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
        let store = Store::open(tmp.path().join("data"), &vault).unwrap();

        // A committed item (row + blob + thumbnail), an orphan of a capture that crashed before its
        // row committed, and a blob of some other kind that the evidence sweep must not touch.
        blob(&store, "ev_kept");
        blob(&store, "ev_kept_thumb");
        blob(&store, "ev_orphan");
        blob(&store, "ev_orphan_thumb");
        blob(&store, "record_page_1");
        let envelope = SignedEnvelope::seal(
            &serde_json::json!({"type": "evidence_manifest", "v": 1}),
            &SoftwareSigner::fixed_for_tests(),
        )
        .unwrap();
        store
            .write(|tx, keys| {
                rows::insert(
                    tx,
                    keys,
                    &NewEvidence {
                        id: "kept",
                        inspection_id: "insp-1",
                        item_id: None,
                        finding_id: None,
                        parent_id: None,
                        kind: EvidenceKind::Photo,
                        media_type: "image/jpeg",
                        size: 21,
                        sha256: "00",
                        blob_id: "ev_kept",
                        thumbnail_blob_id: Some("ev_kept_thumb"),
                        envelope: &envelope,
                    },
                )
            })
            .unwrap();
        let views = store.dir().join(view::VIEW_DIR);
        std::fs::create_dir_all(&views).unwrap();
        std::fs::write(views.join("a.jpg"), b"plaintext photo").unwrap();
        std::fs::write(views.join("thumb_kept.jpg"), b"plaintext thumbnail").unwrap();

        let report = recover(&store).unwrap();

        assert_eq!(report, RecoveryReport { orphan_blobs_removed: 2, views_cleared: 2 });
        let mut left = store.vault().blob_ids().unwrap();
        left.sort();
        assert_eq!(left, vec!["ev_kept", "ev_kept_thumb", "record_page_1"]);
        assert_eq!(std::fs::read_dir(&views).unwrap().count(), 0, "a viewing copy survived");
        assert_eq!(recover(&store).unwrap(), RecoveryReport::default(), "a second run finds nothing");
    }

    #[test]
    fn recovery_on_a_fresh_store_finds_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
        let store = Store::open(tmp.path().join("data"), &vault).unwrap();
        assert_eq!(recover(&store).unwrap(), RecoveryReport::default());
    }
}

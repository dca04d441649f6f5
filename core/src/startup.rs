//! 启动恢复 — what the app does each time it opens the store, before any ingest can run.
//!
//! - Vault blobs that no evidence row names are quarantined, never deleted on sight: a crash
//!   between a blob's commit and its row's commit leaves one, but so does a deleted row or an older
//!   copy of the database put back. [`crate::evidence::sweep`] cross-checks each against the trail
//!   and the outbox, raises an alarm when a sealed item's row vanished, and removes (recording it)
//!   only a blob provably never committed.
//! - Every decrypted viewing copy is deleted: plaintext of evidence exists on disk only while a
//!   screen shows it, and no screen survives a restart.
//!
//! Partial vault files (`vault/tmp`) are already removed by the vault when the store opens.

use std::time::SystemTime;

use crate::{
    Result,
    evidence::{
        self,
        sweep::{SweepOutcome, SweepPolicy},
        view,
    },
    store::Store,
};

/// What recovery did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    /// The orphan sweep: what it quarantined, released, removed, and what the quarantine holds.
    pub orphans: SweepOutcome,
    /// Decrypted viewing copies left from the previous run.
    pub views_cleared: usize,
}

/// Runs recovery without knowing whether the trail anchor vouches for the database: orphans are
/// quarantined and cross-checked, and none is removed. [`crate::Installation::open`] runs
/// [`recover_with`] once it has checked the anchor.
pub fn recover(store: &Store) -> Result<RecoveryReport> {
    recover_with(store, SweepPolicy { database_vouched_for: false, now: SystemTime::now() })
}

/// Runs recovery. Call it right after [`Store::open`] and before anything can start an ingest: the
/// orphan sweep would otherwise quarantine the blob of a capture that is about to commit.
pub fn recover_with(store: &Store, policy: SweepPolicy) -> Result<RecoveryReport> {
    let orphans = evidence::sweep_orphan_blobs(store, policy)?;
    let views = view::clear_views(store)?;
    Ok(RecoveryReport { orphans, views_cleared: views })
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
    fn recovery_quarantines_orphan_blobs_clears_viewing_copies_and_keeps_committed_evidence() {
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
        insert_row(&store, "kept", "ev_kept", Some("ev_kept_thumb"));
        let views = store.dir().join(view::VIEW_DIR);
        std::fs::create_dir_all(&views).unwrap();
        std::fs::write(views.join("a.jpg"), b"plaintext photo").unwrap();
        std::fs::write(views.join("thumb_kept.jpg"), b"plaintext thumbnail").unwrap();

        let report = recover(&store).unwrap();

        assert_eq!(report.orphans.newly_quarantined, 2);
        assert_eq!(report.views_cleared, 2);
        assert!(report.orphans.removed.is_empty(), "nothing is removed without the anchor");
        let mut left = store.vault().blob_ids().unwrap();
        left.sort();
        assert_eq!(left, vec!["ev_kept", "ev_kept_thumb", "record_page_1"]);
        assert_eq!(store.vault().quarantined_ids().unwrap(), vec!["ev_orphan", "ev_orphan_thumb"]);
        assert_eq!(std::fs::read_dir(&views).unwrap().count(), 0, "a viewing copy survived");
        let again = recover(&store).unwrap();
        assert_eq!(
            (again.orphans.newly_quarantined, again.views_cleared),
            (0, 0),
            "a second run moves nothing"
        );
        assert_eq!(again.orphans.quarantined.len(), 2, "and still reports the quarantine");
    }

    /// Makes the vault's blobs directory look last changed long ago (the listing record is written
    /// only once the directory's last change is settled).
    fn settle_blobs_dir(store: &Store) {
        let dir = store.dir().join("vault/blobs");
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::open(dir).unwrap().set_modified(old).unwrap();
    }

    fn insert_row(store: &Store, id: &str, blob_id: &str, thumbnail_blob_id: Option<&str>) {
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
                        id,
                        inspection_id: "insp-1",
                        item_id: None,
                        finding_id: None,
                        parent_id: None,
                        kind: EvidenceKind::Photo,
                        media_type: "image/jpeg",
                        size: 21,
                        sha256: "00",
                        blob_id,
                        thumbnail_blob_id,
                        envelope: &envelope,
                    },
                )
            })
            .unwrap();
    }

    #[test]
    fn the_vault_is_listed_again_only_when_its_directory_or_the_referenced_blobs_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
        let store = Store::open(tmp.path().join("data"), &vault).unwrap();
        blob(&store, "ev_a");
        blob(&store, "ev_b");
        insert_row(&store, "a", "ev_a", None);
        insert_row(&store, "b", "ev_b", None);
        let record = store.dir().join(crate::evidence::sweep::LISTING_RECORD);

        // Just changed: listed, nothing recorded yet. Settled: recorded.
        assert_eq!(recover(&store).unwrap().orphans.newly_quarantined, 0);
        assert!(!record.exists(), "a listing recorded while its directory was still changing");
        settle_blobs_dir(&store);
        assert_eq!(recover(&store).unwrap().orphans.newly_quarantined, 0);
        assert!(record.exists());

        // A blob no row names appears (a crash between a blob's commit and its row's): the
        // directory changed, so it is listed and the orphan quarantined.
        blob(&store, "ev_orphan");
        assert_eq!(recover(&store).unwrap().orphans.newly_quarantined, 1);
        settle_blobs_dir(&store);
        assert_eq!(recover(&store).unwrap().orphans.newly_quarantined, 0);
        assert!(record.exists());

        // A row vanishes while the directory stays as it was: the referenced blobs changed, so the
        // vault is listed again and the blob quarantined, not left unnoticed.
        store
            .write(|tx, _| {
                tx.execute_batch("DROP TRIGGER evidence_no_delete; DELETE FROM evidence WHERE id = 'b';")
                    .unwrap();
                Ok(())
            })
            .unwrap();
        assert_eq!(recover(&store).unwrap().orphans.newly_quarantined, 1);
        let mut quarantined = store.vault().quarantined_ids().unwrap();
        quarantined.sort();
        assert_eq!(quarantined, vec!["ev_b", "ev_orphan"]);
        assert_eq!(store.vault().blob_ids().unwrap(), vec!["ev_a"]);
    }

    #[test]
    fn recovery_on_a_fresh_store_finds_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
        let store = Store::open(tmp.path().join("data"), &vault).unwrap();
        assert_eq!(recover(&store).unwrap(), RecoveryReport::default());
    }
}

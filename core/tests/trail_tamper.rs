//! Tamper evidence on a rooted phone (issue 10, findings 1 and 2): the attacks an attacker with the
//! app's directory can run — delete an evidence row, put back an older copy of the database, cut a
//! trail's tail, delete a whole stream — each run against a real installation, and what the next
//! open and the installation's trail verification must then show.

use fieldseal_test_support as support;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use chrono::DateTime;
use fieldseal_core::{
    FixedClock, InspectionState, Installation, IntegrityProblemKind, Location,
    crypto::{
        KeyVault, signer::SoftwareSigner, software_vault::KeyFileVault, software_vault::PassphraseVault,
    },
    evidence::{CancelToken, EvidenceKind, QuarantineReason, sweep::CRASH_WINDOW},
    model::{Task, TaskSource},
    trail::anchor::AnchorStrength,
};
use support::{harness, testmedia};

const NOW: &str = "2026-06-01T09:00:00+08:00";

struct Phone {
    dir: tempfile::TempDir,
}

impl Phone {
    fn new() -> Self {
        Phone { dir: tempfile::tempdir().unwrap() }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn open(&self) -> Installation {
        self.open_with(&KeyFileVault::open_or_create(self.dir.path().join("kek")).unwrap())
    }

    fn open_with(&self, vault: &dyn KeyVault) -> Installation {
        let signer = SoftwareSigner::load_or_create(
            &KeyFileVault::open_or_create(self.dir.path().join("kek")).unwrap(),
            &self.dir.path().join("device.key"),
        )
        .unwrap();
        let clock = Arc::new(FixedClock::new(DateTime::parse_from_rfc3339(NOW).unwrap()));
        Installation::open(self.data(), vault, Arc::new(signer), clock).unwrap()
    }

    /// Runs SQL on the database file directly, as someone holding the file would.
    fn tamper(&self, sql: &str) {
        let conn = rusqlite::Connection::open(self.data().join("fieldseal.db")).unwrap();
        conn.execute_batch(sql).unwrap();
    }

    fn blob(&self, place: &str, evidence_id: &str) -> PathBuf {
        self.data().join("vault").join(place).join(format!("ev_{evidence_id}"))
    }
}

/// Imports the examples, creates an inspection and walks it to recording through the service API.
fn recording_inspection(installation: &Installation) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let inspections = installation.inspections();
    inspections
        .import_register(&std::fs::read_to_string(root.join("examples/register.json")).unwrap())
        .unwrap();
    inspections
        .import_template(
            &std::fs::read_to_string(root.join("examples/templates/hazardous-waste-storage.json")).unwrap(),
        )
        .unwrap();
    let today = installation.now().date_naive();
    let session = inspections
        .create(Task {
            id: "T-2026-HW-0001".into(),
            title: "危险废物贮存设施专项检查".into(),
            source: TaskSource::Campaign,
            enterprise_id: "ent-chem".into(),
            template_id: "tpl.hazardous-waste.storage".into(),
            planned_date: today,
        })
        .unwrap();
    session.approve("科长 王立").unwrap();
    session.schedule(today).unwrap();
    session.assign_inspectors(&["insp-001".into(), "insp-004".into()]).unwrap();
    assert_eq!(session.prepare_offline().unwrap(), InspectionState::ReadyOffline);
    session
        .check_in(Location {
            lat: 30.6049,
            lon: 121.0991,
            accuracy_m: Some(8.0),
            provider: "gps".into(),
            mocked: false,
        })
        .unwrap();
    session.show_credentials("电子执法证二维码").unwrap();
    session.answer_recusal(false, None).unwrap();
    assert_eq!(session.start_recording().unwrap(), InspectionState::Recording);
    session.id().to_owned()
}

fn seal_photo(phone: &Phone, installation: &Installation, inspection_id: &str, n: usize) -> String {
    let path = phone.dir.path().join(format!("IMG_{n}.jpg"));
    std::fs::write(&path, testmedia::photo_by(n)).unwrap();
    let mut req = harness::request(&path, EvidenceKind::Photo);
    req.inspection_id = inspection_id.to_owned();
    req.item_id = None;
    req.operator = "insp-001".into();
    installation.evidence().ingest(&req, &CancelToken::new(), &mut |_| {}).unwrap().evidence_id
}

/// Makes a file look written long before the crash window.
fn age(path: &Path) {
    let old = SystemTime::now() - CRASH_WINDOW - Duration::from_secs(600);
    std::fs::File::options().write(true).open(path).unwrap().set_modified(old).unwrap();
}

fn kinds(v: &fieldseal_core::TrailVerification) -> Vec<IntegrityProblemKind> {
    v.problems.iter().map(|p| p.kind.clone()).collect()
}

#[test]
fn an_untouched_installation_verifies_all_good_with_a_checkpointed_anchor() {
    let phone = Phone::new();
    let installation = phone.open();
    let id = recording_inspection(&installation);
    seal_photo(&phone, &installation, &id, 0);
    let v = installation.verify_trail().unwrap();
    assert!(v.all_good, "{:?}", v.problems);
    assert_eq!(v.anchor_strength, AnchorStrength::Checkpointed);
    // Created, approved, scheduled, ready offline, on site, recording, and the capture.
    assert_eq!(v.anchors_checked, 7, "each state change and the capture are anchored");
    drop(installation);
    let again = phone.open().verify_trail().unwrap();
    assert!(again.all_good, "{:?}", again.problems);
}

#[test]
fn deleting_an_evidence_row_keeps_the_blob_raises_the_alarm_and_fails_verification() {
    let phone = Phone::new();
    let installation = phone.open();
    let id = recording_inspection(&installation);
    let kept = seal_photo(&phone, &installation, &id, 0);
    let victim = seal_photo(&phone, &installation, &id, 1);
    drop(installation);

    phone.tamper(&format!("DROP TRIGGER evidence_no_delete; DELETE FROM evidence WHERE id = '{victim}';"));
    // Old enough that only the cross-check, not the crash window, can save it.
    age(&phone.blob("blobs", &victim));

    let installation = phone.open();
    let recovery = installation.recovery();
    assert!(recovery.orphans.removed.is_empty(), "a sealed original was destroyed: {:?}", recovery.orphans);
    assert!(phone.blob("quarantine", &victim).is_file(), "the blob is kept in quarantine");
    let alarm = recovery.orphans.quarantined.iter().find(|b| b.evidence_id == victim).unwrap();
    assert!(alarm.is_alarm());
    assert_eq!(
        alarm.reason,
        QuarantineReason::RowVanished {
            known_to_trail: true,
            known_to_outbox: true,
            inspection_id: Some(id.clone())
        }
    );

    let v = installation.verify_trail().unwrap();
    assert!(!v.all_good);
    assert!(
        kinds(&v).iter().any(|k| matches!(k,
            IntegrityProblemKind::EvidenceRowVanished { evidence_id, .. } if *evidence_id == victim)),
        "{:?}",
        v.problems
    );
    let message = &v.problems[0];
    assert!(message.message_zh.contains(&victim) && message.message_en.contains("vanished"));
    assert_eq!(installation.evidence().list(&id).unwrap().len(), 1);
    installation.evidence().verify(&kept).unwrap();
}

#[test]
fn restoring_an_older_database_keeps_the_newer_blobs_and_is_detected() {
    let phone = Phone::new();
    let installation = phone.open();
    let id = recording_inspection(&installation);
    drop(installation);
    let backup = phone.dir.path().join("backup.db");
    std::fs::copy(phone.data().join("fieldseal.db"), &backup).unwrap();

    let installation = phone.open();
    let newer = seal_photo(&phone, &installation, &id, 0);
    drop(installation);
    std::fs::copy(&backup, phone.data().join("fieldseal.db")).unwrap();
    for side in ["fieldseal.db-wal", "fieldseal.db-shm"] {
        let _ = std::fs::remove_file(phone.data().join(side));
    }
    age(&phone.blob("blobs", &newer));

    // In the restored database nothing names the photo: no row, no trail event, no upload.
    let installation = phone.open();
    assert!(installation.recovery().orphans.removed.is_empty(), "the newer capture was destroyed");
    assert!(phone.blob("quarantine", &newer).is_file());
    let v = installation.verify_trail().unwrap();
    assert!(!v.all_good);
    assert!(
        kinds(&v)
            .iter()
            .any(|k| matches!(k, IntegrityProblemKind::RolledBack { database_counter, checkpoint_counter }
            if database_counter < checkpoint_counter)),
        "{:?}",
        v.problems
    );
    let blob = v.quarantined.iter().find(|b| b.evidence_id == newer).unwrap();
    assert_eq!(blob.reason, QuarantineReason::NotProvablyUncommitted);
}

#[test]
fn cutting_a_stream_from_five_events_to_two_is_detected() {
    let phone = Phone::new();
    let installation = phone.open();
    let id = recording_inspection(&installation);
    let stream = format!("inspection:{id}");
    let before = installation.store().read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, &stream));
    assert!(before.unwrap().len() >= 5);
    drop(installation);

    phone.tamper(&format!(
        "DROP TRIGGER trail_events_no_delete; DELETE FROM trail_events WHERE stream = '{stream}' AND seq > 2;"
    ));

    let installation = phone.open();
    // The chain alone still verifies: that is the attack.
    let left = installation.store().read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, &stream));
    assert_eq!(left.unwrap().len(), 2);
    let v = installation.verify_trail().unwrap();
    assert!(!v.all_good);
    assert!(
        kinds(&v)
            .iter()
            .any(|k| matches!(k, IntegrityProblemKind::StreamTruncated { present_seq: 2, anchored_seq, .. }
            if *anchored_seq > 2)),
        "{:?}",
        v.problems
    );
}

#[test]
fn cutting_the_newest_anchors_with_the_events_they_sign_is_caught_by_the_checkpoint() {
    let phone = Phone::new();
    let installation = phone.open();
    let id = recording_inspection(&installation);
    let stream = format!("inspection:{id}");
    drop(installation);

    // Cut the stream to 2 and every anchor naming a later event: what remains is self-consistent.
    phone.tamper(&format!(
        "DROP TRIGGER trail_events_no_delete; DROP TRIGGER trail_anchors_no_delete;
         DELETE FROM trail_events WHERE stream = '{stream}' AND seq > 2;
         DELETE FROM trail_anchors WHERE counter > 1;"
    ));

    let v = phone.open().verify_trail().unwrap();
    assert!(!v.all_good);
    assert!(
        kinds(&v).iter().any(|k| matches!(k, IntegrityProblemKind::RolledBack { database_counter: 1, .. })),
        "{:?}",
        v.problems
    );
}

#[test]
fn deleting_a_whole_stream_is_detected() {
    let phone = Phone::new();
    let installation = phone.open();
    let id = recording_inspection(&installation);
    drop(installation);
    phone.tamper(&format!(
        "DROP TRIGGER trail_events_no_delete; DELETE FROM trail_events WHERE stream = 'inspection:{id}';"
    ));
    let v = phone.open().verify_trail().unwrap();
    assert!(!v.all_good);
    assert!(
        kinds(&v).iter().any(|k| matches!(k, IntegrityProblemKind::StreamTruncated { present_seq: 0, .. })),
        "{:?}",
        v.problems
    );
}

#[test]
fn a_vault_without_a_checkpoint_works_reports_the_anchor_weaker_and_never_removes_an_orphan() {
    let phone = Phone::new();
    let vault = PassphraseVault::with_iterations("correct horse", 1_000);
    let installation = phone.open_with(&vault);
    let id = recording_inspection(&installation);
    seal_photo(&phone, &installation, &id, 0);
    let v = installation.verify_trail().unwrap();
    assert!(v.all_good, "{:?}", v.problems);
    assert_eq!(v.anchor_strength, AnchorStrength::SignedHeadsOnly);
    assert!(v.anchor_message_zh.contains("锚定较弱") && v.anchor_message_en.contains("Anchor weaker"));
    drop(installation);

    // A blob nothing names, long past the crash window: without a checkpoint it is still kept.
    let orphan = phone.data().join("vault/blobs/ev_00000000000000000000000000000000");
    std::fs::write(&orphan, b"ciphertext of a capture that never committed").unwrap();
    age(&orphan);
    let installation = phone.open_with(&vault);
    assert!(installation.recovery().orphans.removed.is_empty());
    assert_eq!(
        installation.recovery().orphans.quarantined[0].reason,
        QuarantineReason::NotProvablyUncommitted
    );
}

#[test]
fn with_the_checkpoint_agreeing_an_old_orphan_nothing_names_is_removed_and_the_removal_recorded() {
    let phone = Phone::new();
    let installation = phone.open();
    recording_inspection(&installation);
    drop(installation);
    let orphan = phone.data().join("vault/blobs/ev_00000000000000000000000000000000");
    std::fs::write(&orphan, b"ciphertext of a capture that never committed").unwrap();
    age(&orphan);

    let installation = phone.open();
    assert_eq!(
        installation.recovery().orphans.removed,
        vec!["ev_00000000000000000000000000000000".to_string()]
    );
    let device =
        installation.store().read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, "device"));
    let device = device.unwrap();
    assert_eq!(device.last().unwrap().kind, "evidence.orphan_removed");
    let v = installation.verify_trail().unwrap();
    assert!(v.all_good, "the recorded removal is anchored too: {:?}", v.problems);
}

#[test]
fn every_trail_event_is_stamped_with_the_installation_clock() {
    let phone = Phone::new();
    let installation = phone.open();
    let id = recording_inspection(&installation);
    seal_photo(&phone, &installation, &id, 0);
    let entries = installation
        .store()
        .read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, &format!("inspection:{id}")))
        .unwrap();
    assert!(entries.len() > 5);
    for e in entries {
        assert_eq!(e.at, "2026-06-01T01:00:00.000Z", "{} was stamped by another clock", e.kind);
    }
}

/// An older copy of the database put back with anchors of the newer one pasted in: `all` of them
/// (their counters then run without a gap) or only the newest. Opening checks only the anchors from
/// the checkpoint on (issue 8, cold open), so it must still see that the trail lacks the events
/// they sign, and keep the newer capture.
fn restore_older_database_with_newer_anchors(all: bool) {
    let phone = Phone::new();
    let installation = phone.open();
    let id = recording_inspection(&installation);
    drop(installation);
    let backup = phone.dir.path().join("backup.db");
    std::fs::copy(phone.data().join("fieldseal.db"), &backup).unwrap();

    // Two captures, two anchors: pasting only the newest leaves a gap in the counters.
    let installation = phone.open();
    let newer = [seal_photo(&phone, &installation, &id, 0), seal_photo(&phone, &installation, &id, 1)];
    drop(installation);
    let newest = phone.dir.path().join("newest.db");
    std::fs::copy(phone.data().join("fieldseal.db"), &newest).unwrap();
    std::fs::copy(&backup, phone.data().join("fieldseal.db")).unwrap();
    for side in ["fieldseal.db-wal", "fieldseal.db-shm"] {
        let _ = std::fs::remove_file(phone.data().join(side));
    }
    for item in &newer {
        age(&phone.blob("blobs", item));
    }
    let pasted = if all {
        "counter > (SELECT max(counter) FROM main.trail_anchors)"
    } else {
        "counter = (SELECT max(counter) FROM n.trail_anchors)"
    };
    phone.tamper(&format!(
        "ATTACH '{}' AS n; INSERT INTO main.trail_anchors SELECT * FROM n.trail_anchors WHERE {pasted}; DETACH n;",
        newest.display()
    ));

    let installation = phone.open();
    assert!(installation.recovery().orphans.removed.is_empty(), "the newer capture was destroyed");
    for item in &newer {
        assert!(phone.blob("quarantine", item).is_file());
    }
    assert!(!installation.verify_trail().unwrap().all_good);
}

#[test]
fn an_older_database_with_all_the_newer_anchors_pasted_in_keeps_the_newer_capture() {
    restore_older_database_with_newer_anchors(true);
}

#[test]
fn an_older_database_with_the_newest_anchor_pasted_in_keeps_the_newer_capture() {
    restore_older_database_with_newer_anchors(false);
}

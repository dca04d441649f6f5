//! Captures against inspections as the app stores them: the stored state gates ingest, a sealed
//! capture is counted on its checklist item in the sealing transaction, and startup recovery
//! leaves only committed evidence and no plaintext behind.

mod inspection_support;
use fieldseal_test_support as support;

use std::{fs, path::Path};

use fieldseal_core::{
    Error, Result,
    evidence::{
        CancelToken, CaptureFlag, CaptureGate, CaptureGuard, EvidenceError, EvidenceKind, EvidenceManifest,
        IngestContext, IngestOutcome, IngestPolicy, IngestRequest, StoredInspectionGuard, ingest,
        verify_item, view,
    },
    explain::ErrorClass,
    model::{Inspection, InspectionState, checklist_view},
    startup,
    store::{Keyring, Store, StoreError, inspections as stored},
};
use inspection_support::{recording, t, task};
use rusqlite::{Connection, Transaction};
use support::{
    harness::{self, Env},
    testmedia::{self, PhotoSpec},
};

const INSPECTION: &str = "insp-A";

fn save(store: &Store, inspection: &Inspection) {
    store.write(|tx, keys| stored::save_inspection(tx, keys, inspection, &[])).unwrap();
}

fn load(store: &Store) -> Inspection {
    store.read(|c, k| stored::load_inspection(c, k, INSPECTION)).unwrap()
}

/// The first item of the stored inspection's checklist.
fn first_item(store: &Store) -> String {
    load(store).checklist().unwrap().items().next().unwrap().id.clone()
}

fn photo_request(source: &Path, item: Option<&str>) -> IngestRequest {
    IngestRequest {
        inspection_id: INSPECTION.into(),
        item_id: item.map(str::to_owned),
        ..harness::request(source, EvidenceKind::Photo)
    }
}

fn ingest_with(env: &Env, guard: &dyn CaptureGuard, req: &IngestRequest) -> Result<IngestOutcome> {
    let cx = IngestContext { store: &env.store, signer: &env.signer, guard, policy: IngestPolicy::default() };
    ingest(&cx, req, &CancelToken::new(), &mut |_| {})
}

/// The item's evidence count as the checklist screen shows it.
fn shown_count(store: &Store, item: &str) -> u32 {
    let view = checklist_view(&load(store));
    view.sections.iter().flat_map(|s| &s.items).find(|i| i.id == item).unwrap().evidence_count
}

fn assert_nothing_stored(env: &Env, source: &Path, original: &[u8]) {
    assert!(view::list_for_inspection(&env.store, INSPECTION).unwrap().is_empty(), "a row was stored");
    assert!(env.store.vault().blob_ids().unwrap().is_empty(), "blobs left behind");
    assert_eq!(fs::read(source).unwrap(), original, "the input file must be kept for a retry");
}

#[test]
fn a_photo_linked_to_an_item_of_a_recording_inspection_is_counted_on_its_checklist() {
    let env = Env::new();
    save(&env.store, &recording());
    let item = first_item(&env.store);
    assert_eq!(shown_count(&env.store, &item), 0);

    let source = env.capture_file("IMG_0001.jpg", &testmedia::photo(&PhotoSpec::default()));
    let out = ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, Some(&item))).unwrap();
    assert!(!out.already_sealed && !source.exists());
    assert_eq!(shown_count(&env.store, &item), 1);
    assert_eq!(load(&env.store).evidence_count(&item, EvidenceKind::Photo), 1);
    verify_item(&env.store, &out.evidence_id, &env.public_key()).unwrap();

    // A second photo counts again; the same photo ingested again (a retry after a crash past the
    // commit) is recognised and not counted twice.
    let second = testmedia::photo(&PhotoSpec { width: 200, ..Default::default() });
    let source = env.capture_file("IMG_0002.jpg", &second);
    ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, Some(&item))).unwrap();
    assert_eq!(shown_count(&env.store, &item), 2);
    let source = env.capture_file("IMG_0002_again.jpg", &second);
    let again = ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, Some(&item))).unwrap();
    assert!(again.already_sealed);
    assert_eq!(shown_count(&env.store, &item), 2);
}

#[test]
fn a_capture_without_an_item_changes_no_count() {
    let env = Env::new();
    save(&env.store, &recording());
    let before = load(&env.store);
    let source = env.capture_file("IMG_0001.jpg", &testmedia::photo(&PhotoSpec::default()));
    ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, None)).unwrap();
    let after = load(&env.store);
    assert_eq!(after.revision(), before.revision(), "the inspection was rewritten for nothing");
    assert_eq!(view::list_for_inspection(&env.store, INSPECTION).unwrap().len(), 1);
}

#[test]
fn the_gate_gives_ingest_the_stored_enterprise_site() {
    let env = Env::new();
    save(&env.store, &recording());
    let gate = env.store.read(|c, k| StoredInspectionGuard.capture_gate(c, k, INSPECTION)).unwrap();
    assert_eq!(gate.state, InspectionState::Recording);
    assert!(gate.site.is_some(), "the thermal plant's registered site");

    // The harness fix is in Hangzhou, far from the thermal plant in Yangzhou: the stored site is
    // what flags it.
    let source = env.capture_file("IMG_0001.jpg", &testmedia::photo(&PhotoSpec::default()));
    let out = ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, None)).unwrap();
    assert!(
        out.manifest.flags.iter().any(|f| matches!(f, CaptureFlag::OutsideSite { .. })),
        "{:?}",
        out.manifest.flags
    );
    assert!(!out.manifest.flags.contains(&CaptureFlag::NoRegisteredSite));
    assert!(!out.manifest.supports_presence);
}

#[test]
fn a_capture_for_a_draft_inspection_is_refused_and_its_file_kept() {
    let env = Env::new();
    let (draft, _) =
        Inspection::create(INSPECTION, task("ent-thermal", "tpl.thermal-power.permit"), t("08:00")).unwrap();
    save(&env.store, &draft);
    let bytes = testmedia::photo(&PhotoSpec::default());
    let source = env.capture_file("IMG_0001.jpg", &bytes);

    let err = ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, None)).unwrap_err();

    match &err {
        Error::Evidence(EvidenceError::NotCapturing { state }) => assert_eq!(state, "draft"),
        other => panic!("expected NotCapturing, got {other:?}"),
    }
    assert!(matches!(err.explain().class, ErrorClass::NotAllowed { .. }));
    assert_nothing_stored(&env, &source, &bytes);
}

#[test]
fn a_capture_for_an_unknown_inspection_is_not_found_and_its_file_kept() {
    let env = Env::new();
    let bytes = testmedia::photo(&PhotoSpec::default());
    let source = env.capture_file("IMG_0001.jpg", &bytes);
    let err = ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, None)).unwrap_err();
    assert!(matches!(err, Error::Store(StoreError::NotFound { .. })), "{err:?}");
    assert_nothing_stored(&env, &source, &bytes);
}

#[test]
fn a_capture_linked_to_an_item_the_checklist_lacks_rolls_back_whole() {
    let env = Env::new();
    save(&env.store, &recording());
    let revision = load(&env.store).revision();
    let bytes = testmedia::photo(&PhotoSpec::default());
    let source = env.capture_file("IMG_0001.jpg", &bytes);

    let err =
        ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, Some("no-such-item"))).unwrap_err();

    assert!(matches!(err.explain().class, ErrorClass::NotFound { .. }), "{err:?}");
    assert_nothing_stored(&env, &source, &bytes);
    assert_eq!(load(&env.store).revision(), revision);
}

/// The stored guard, then a failure later in the same sealing transaction.
struct FailsAfterCounting;

impl CaptureGuard for FailsAfterCounting {
    fn capture_gate(&self, conn: &Connection, keys: &Keyring, id: &str) -> Result<CaptureGate> {
        StoredInspectionGuard.capture_gate(conn, keys, id)
    }

    fn on_sealed(&self, tx: &Transaction<'_>, keys: &Keyring, sealed: &EvidenceManifest) -> Result<()> {
        StoredInspectionGuard.on_sealed(tx, keys, sealed)?;
        Err(EvidenceError::invalid("test", "fails after the count was written").into())
    }
}

#[test]
fn the_count_rolls_back_with_a_capture_that_fails_to_commit() {
    let env = Env::new();
    save(&env.store, &recording());
    let item = first_item(&env.store);
    let bytes = testmedia::photo(&PhotoSpec::default());
    let source = env.capture_file("IMG_0001.jpg", &bytes);

    ingest_with(&env, &FailsAfterCounting, &photo_request(&source, Some(&item))).unwrap_err();

    assert_eq!(shown_count(&env.store, &item), 0, "a count survived its capture's rollback");
    assert_nothing_stored(&env, &source, &bytes);
}

#[test]
fn a_capture_is_refused_while_the_inspection_is_suspended() {
    let env = Env::new();
    let mut inspection = recording();
    inspection.suspend("平板电脑故障", t("10:00")).unwrap();
    save(&env.store, &inspection);
    let bytes = testmedia::photo(&PhotoSpec::default());
    let source = env.capture_file("IMG_0001.jpg", &bytes);
    let err = ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, None)).unwrap_err();
    assert!(matches!(err, Error::Evidence(EvidenceError::NotCapturing { .. })), "{err:?}");
    assert_nothing_stored(&env, &source, &bytes);
}

#[test]
fn after_a_restart_recovery_quarantines_orphans_clears_viewing_copies_and_evidence_still_verifies() {
    let env = Env::new();
    save(&env.store, &recording());
    let source = env.capture_file("IMG_0001.jpg", &testmedia::photo(&PhotoSpec::default()));
    let out = ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, None)).unwrap();
    let opened = view::open_for_viewing(&env.store, &out.evidence_id).unwrap();
    let thumb = view::thumbnail_for_viewing(&env.store, &out.evidence_id).unwrap().unwrap();
    assert!(opened.path.exists() && thumb.path.exists());
    // A capture that crashed after its blob was committed but before its row was.
    let mut orphan = env.store.vault().begin("ev_crashed").unwrap();
    std::io::Write::write_all(&mut orphan, b"sealed, never committed").unwrap();
    orphan.commit().unwrap();

    let Env { dir, store, signer, guard } = env;
    drop(store);
    let store = harness::open_store(dir.path());
    let report = startup::recover(&store).unwrap();
    let env = Env { dir, store, signer, guard };

    assert_eq!(report.orphans.newly_quarantined, 1);
    assert_eq!(report.views_cleared, 2);
    assert!(!opened.path.exists() && !thumb.path.exists(), "plaintext survived the restart");
    assert!(!env.store.vault().blob_ids().unwrap().contains(&"ev_crashed".to_string()));
    assert_eq!(env.store.vault().quarantined_ids().unwrap(), vec!["ev_crashed".to_string()]);
    verify_item(&env.store, &out.evidence_id, &env.public_key()).unwrap();
}

/// A recording inspection with one failed item and a 立行立改 finding on it.
fn recording_with_finding() -> (Inspection, String) {
    use fieldseal_core::{
        checklist::{AnswerValue, ResultCode},
        model::{Handling, NewFinding},
    };
    let mut inspection = recording();
    let item = "permit.valid";
    let fail = AnswerValue::Result { code: ResultCode::Fail, reason: None };
    inspection.set_answer(item, fail, "insp-001", None, t("09:10")).unwrap();
    let (finding, _) = inspection
        .add_finding(
            NewFinding {
                item_id: item.into(),
                category: None,
                description: "排污许可证正本未悬挂".into(),
                legal_basis: vec![],
                evidence_ids: vec![],
                handling: Handling::FixOnSite,
            },
            t("09:12"),
        )
        .unwrap();
    (inspection, finding)
}

#[test]
fn a_capture_made_against_a_finding_is_listed_in_that_finding_in_the_same_commit() {
    let env = Env::new();
    let (inspection, finding) = recording_with_finding();
    save(&env.store, &inspection);
    let source = env.capture_file("IMG_after.jpg", &testmedia::photo(&PhotoSpec::default()));
    let req = IngestRequest { finding_id: Some(finding.clone()), ..photo_request(&source, None) };

    let out = ingest_with(&env, &StoredInspectionGuard, &req).unwrap();

    let stored = load(&env.store);
    let listed = &stored.findings().iter().find(|f| f.id == finding).unwrap().evidence_ids;
    assert_eq!(listed, &vec![out.evidence_id]);
}

#[test]
fn a_capture_against_an_unknown_finding_rolls_back_whole() {
    let env = Env::new();
    let (inspection, _) = recording_with_finding();
    save(&env.store, &inspection);
    let bytes = testmedia::photo(&PhotoSpec::default());
    let source = env.capture_file("IMG_after.jpg", &bytes);
    let req = IngestRequest { finding_id: Some("no-such-finding".into()), ..photo_request(&source, None) };

    let err = ingest_with(&env, &StoredInspectionGuard, &req).unwrap_err();

    assert!(matches!(err.explain().class, ErrorClass::NotFound { .. }), "{err:?}");
    assert_nothing_stored(&env, &source, &bytes);
}

/// Each capture supersedes the stored inspection body (its trail head and the item's count move
/// in the sealing transaction). The capture returns before the `-wal` checkpoint that scrubs the
/// old body (issue 9); once the store has settled — as it has before any next write — no
/// superseded body is left in the database file or its `-wal` (issue 10, finding 3).
#[test]
fn a_capture_leaves_no_superseded_inspection_body_on_disk_once_the_store_settles() {
    let env = Env::new();
    save(&env.store, &recording());
    let item = first_item(&env.store);
    let body = || -> Vec<u8> {
        let query = "SELECT body_enc FROM inspections WHERE id = ?1";
        env.store.read(|c, _| Ok(c.query_row(query, [INSPECTION], |r| r.get(0)).unwrap())).unwrap()
    };
    let mut superseded = Vec::new();
    for n in 0..3 {
        superseded.push(body());
        let source = env.dir.path().join(format!("IMG_{n}.jpg"));
        fs::write(&source, testmedia::photo_by(n)).unwrap();
        ingest_with(&env, &StoredInspectionGuard, &photo_request(&source, Some(&item))).unwrap();
    }
    env.store.settle();
    let current = body();
    assert!(!superseded.contains(&current));
    let mut on_disk = Vec::new();
    for name in ["fieldseal.db", "fieldseal.db-wal"] {
        on_disk.extend(fs::read(env.store.dir().join(name)).unwrap_or_default());
    }
    let find = |needle: &[u8]| on_disk.windows(needle.len()).any(|w| w == needle);
    assert!(find(&current[..32]), "the test must see the current body on disk");
    for (n, old) in superseded.iter().enumerate() {
        assert!(!find(&old[..32]), "the body before capture {n} is still on disk");
    }
}

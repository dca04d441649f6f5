//! The installation's sync service against a real intake on 127.0.0.1: enrolment, a pass moving
//! the status read model to acknowledged, the network policy, cancellation, and a person's retry
//! and discard of a stopped upload (the evidence kept, the decision in the trail).

use fieldseal_test_support as support;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use chrono::{FixedOffset, TimeZone};
use fieldseal_core::{
    Error, FixedClock, Installation, PassEnd, SyncEngine, SyncItemState, SyncSettings, SyncStatus,
    crypto::signer::SoftwareSigner,
    evidence::{CancelToken, EvidenceKind, IngestContext, IngestPolicy, ingest},
    explain::ErrorClass,
    outbox::{Backoff, NetworkPolicy, NetworkState},
    store::trail,
    sync::ClientOptions,
};
use fieldseal_intake::{
    Intake,
    config::StorageConfig,
    http::{AppState, router, serve},
};
use support::{
    harness::{INSPECTION, TestGuard, key_vault, request},
    testmedia,
};
use tokio::{net::TcpListener, sync::oneshot};

const INSPECTOR: &str = "insp-001";
const BUDGET: Duration = Duration::from_secs(60);

/// A real intake (SQLite + blob directory) on an ephemeral loopback port.
struct TestIntake {
    addr: SocketAddr,
    intake: Intake,
    _data: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

async fn start_intake() -> TestIntake {
    let data = tempfile::tempdir().unwrap();
    let intake = StorageConfig::local(data.path()).open().await.unwrap();
    let register = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/register.json"));
    intake.import_register(&register.unwrap()).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(AppState { intake: intake.clone(), admin_token: None }, Duration::from_secs(30));
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    tokio::spawn(serve::serve(listener, app, None, shutdown, Duration::from_secs(2)));
    TestIntake { addr, intake, _data: data, _stop: stop }
}

/// A terminal: an installation opened through the service API, and photos sealed into it.
struct Terminal {
    dir: tempfile::TempDir,
    installation: Installation,
    signer: Arc<SoftwareSigner>,
}

impl Terminal {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let vault = key_vault(dir.path());
        let signer =
            Arc::new(SoftwareSigner::load_or_create(&vault, &dir.path().join("device.key")).unwrap());
        let at = FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
        let installation = Installation::open(
            dir.path().join("data"),
            &vault,
            signer.clone(),
            Arc::new(FixedClock::new(at)),
        )
        .unwrap();
        Terminal { dir, installation, signer }
    }

    /// Real JPEGs with real EXIF through the real ingest (the capture gate is the test's).
    fn seal_photos(&self, count: usize) -> Vec<String> {
        let guard = TestGuard::capturing();
        let cx = IngestContext {
            store: self.installation.store(),
            signer: self.signer.as_ref(),
            guard: &guard,
            policy: IngestPolicy::default(),
        };
        let captures = self.dir.path().join("captures");
        std::fs::create_dir_all(&captures).unwrap();
        (0..count)
            .map(|i| {
                let spec = testmedia::PhotoSpec {
                    width: 320 + 8 * i as u32,
                    height: 96,
                    thumbnail: false,
                    ..Default::default()
                };
                let path = captures.join(format!("IMG_{i:04}.jpg"));
                std::fs::write(&path, testmedia::photo(&spec)).unwrap();
                ingest(&cx, &request(&path, EvidenceKind::Photo), &CancelToken::new(), &mut |_| {})
                    .unwrap()
                    .evidence_id
            })
            .collect()
    }

    fn engine(&self, intake: &TestIntake) -> SyncEngine {
        let settings = SyncSettings { intake_url: format!("http://{}", intake.addr), province_ca_pem: None };
        let options = ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            // Several chunks per photo, so bytes done move through the middle of each item.
            chunk_size: 8 << 10,
        };
        let backoff = Backoff { base: Duration::from_millis(2), cap: Duration::from_millis(20) };
        self.installation.sync_with(&settings, options, backoff).unwrap()
    }
}

async fn enrolled(terminal: &Terminal, intake: &TestIntake) -> SyncEngine {
    let engine = terminal.engine(intake);
    let code = intake.intake.issue_enrolment_code(INSPECTOR).await.unwrap().0;
    let enrolled = engine.enrol(&code, Some("sync engine test".into())).await.unwrap();
    assert_eq!(enrolled.inspector_id, INSPECTOR);
    assert_eq!(engine.enrolment().unwrap(), Some(enrolled));
    engine
}

fn unmetered() -> NetworkPolicy {
    NetworkPolicy::new(NetworkState::Unmetered)
}

fn states(status: &SyncStatus) -> Vec<&SyncItemState> {
    status.items.iter().map(|i| &i.state).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_moves_every_item_from_pending_to_acknowledged() {
    let intake = start_intake().await;
    let terminal = Terminal::new();
    let ids = terminal.seal_photos(4);
    let engine = enrolled(&terminal, &intake).await;

    let before = engine.status().unwrap();
    assert!(before.enrolled && !before.syncing);
    assert_eq!((before.pending, before.acknowledged, before.items.len()), (4, 0, 4));
    assert!(before.bytes_total > 0 && before.bytes_done == 0, "{before:?}");
    for item in &before.items {
        assert!(ids.contains(&item.object_id));
        assert_eq!(item.inspection_id.as_deref(), Some(INSPECTION));
        match &item.state {
            SyncItemState::Pending { bytes_done: 0, bytes_total: Some(total), .. } => {
                assert!(*total > 8 << 10)
            }
            other => panic!("expected pending, got {other:?}"),
        }
    }

    let outcome = engine.sync_now(unmetered(), &CancelToken::new(), BUDGET).await.unwrap();
    assert_eq!(outcome.ended, PassEnd::Done);
    assert_eq!((outcome.acknowledged, outcome.wedged, outcome.remaining), (4, 0, 0), "{outcome:?}");
    assert!(outcome.bytes_sent >= before.bytes_total, "{outcome:?}");
    assert!(!outcome.more_work && outcome.run_again_in_ms.is_none(), "{outcome:?}");

    let after = engine.status().unwrap();
    assert!(states(&after).iter().all(|s| **s == SyncItemState::Acknowledged), "{after:?}");
    assert_eq!((after.acknowledged, after.pending, after.uploading), (4, 0, 0));
    assert_eq!(after.bytes_done, after.bytes_total);
    assert!(after.clock_offset_ms.is_some(), "the clock offset is measured on the way");
    assert_eq!(terminal.installation.status().unwrap().outbox_acknowledged, 4);

    // Every kept receipt checks out again; one changed in the store afterwards does not.
    let checks = engine.check_receipts().unwrap();
    assert_eq!(checks.len(), 4);
    assert!(checks.iter().all(|c| c.problem.is_none() && c.receipt_id.is_some()), "{checks:?}");
    let victim = checks[0].item_id;
    terminal
        .installation
        .store()
        .write(|tx, _| {
            tx.execute(
                "UPDATE outbox SET receipt = CAST(replace(CAST(receipt AS TEXT), 'evidence', 'evidencf') AS BLOB) WHERE id = ?1",
                [victim],
            )
            .map_err(fieldseal_core::store::StoreError::sql("tamper"))?;
            Ok(())
        })
        .unwrap();
    let checks = engine.check_receipts().unwrap();
    let broken: Vec<_> = checks.iter().filter(|c| c.problem.is_some()).map(|c| c.item_id).collect();
    assert_eq!(broken, vec![victim], "{checks:?}");

    // Intake holds each item once, verified.
    let report = intake.intake.report().await.unwrap();
    let held: Vec<_> = report.inspections.iter().flat_map(|i| &i.evidence).collect();
    assert_eq!(held.len(), 4);
    assert!(held.iter().all(|e| e.verified && ids.contains(&e.evidence_id)));
}

/// What the province sends down arrives in the same pass, after the uploads: a task assigned at
/// intake is a draft inspection in the first task list afterwards, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_pulls_the_assigned_task_into_the_task_list_once() {
    let intake = start_intake().await;
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/templates/thermal-power-permit.json"
    ));
    intake.intake.import_templates(&template.unwrap()).await.unwrap();
    let task = serde_json::json!({"tasks": [{"id": "task-pulled", "title": "双随机抽查", "source": "double_random",
        "enterprise_id": "ent-001", "template_id": "tpl.thermal-power.permit", "planned_date": "2026-12-02",
        "inspectors": [INSPECTOR]}]});
    intake.intake.import_tasks(&task.to_string()).await.unwrap();
    let terminal = Terminal::new();
    terminal.seal_photos(1);
    let engine = enrolled(&terminal, &intake).await;
    let titles = || -> Vec<String> {
        let rows = terminal.installation.store().read(fieldseal_core::store::inspections::task_rows);
        rows.unwrap().into_iter().map(|r| r.title).collect()
    };
    assert!(titles().is_empty());

    let first = engine.sync_now(unmetered(), &CancelToken::new(), BUDGET).await.unwrap();
    assert_eq!((first.ended, first.acknowledged, first.new_tasks), (PassEnd::Done, 1, 1), "{first:?}");
    assert!(first.pull_stopped.is_none(), "{first:?}");
    assert_eq!(titles(), ["双随机抽查"]);
    let again = engine.sync_now(unmetered(), &CancelToken::new(), BUDGET).await.unwrap();
    assert_eq!(again.new_tasks, 0, "{again:?}");
    assert_eq!(titles().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_nothing_is_attempted_and_large_items_wait_for_unmetered() {
    let intake = start_intake().await;
    let terminal = Terminal::new();
    terminal.seal_photos(2);
    let engine = enrolled(&terminal, &intake).await;

    let offline = engine
        .sync_now(NetworkPolicy::new(NetworkState::Offline), &CancelToken::new(), BUDGET)
        .await
        .unwrap();
    assert_eq!(offline.ended, PassEnd::Offline);
    assert_eq!((offline.acknowledged, offline.remaining, offline.bytes_sent), (0, 2, 0));
    assert!(offline.more_work && offline.run_again_in_ms.is_none(), "wait for the network: {offline:?}");
    assert!(engine.status().unwrap().items.iter().all(|i| i.attempts == 0));

    // On mobile data with a limit below the photos' size, both wait for an unmetered network.
    let metered = NetworkPolicy { metered_limit_bytes: 1024, ..NetworkPolicy::new(NetworkState::Metered) };
    let held = engine.background_pass(metered, &CancelToken::new(), BUDGET).await.unwrap();
    assert_eq!((held.ended, held.acknowledged, held.remaining), (PassEnd::Done, 0, 2), "{held:?}");
    assert!(held.needs_unmetered && held.more_work, "{held:?}");
    assert!(intake.intake.report().await.unwrap().inspections.is_empty(), "nothing was sent");

    let overridden = NetworkPolicy { allow_large_on_metered: true, ..metered };
    let sent = engine.background_pass(overridden, &CancelToken::new(), BUDGET).await.unwrap();
    assert_eq!((sent.acknowledged, sent.remaining), (2, 0), "{sent:?}");
    assert!(!sent.needs_unmetered && !sent.more_work);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_pass_keeps_everything_and_the_next_pass_finishes_once() {
    let intake = start_intake().await;
    let terminal = Terminal::new();
    terminal.seal_photos(3);
    let engine = enrolled(&terminal, &intake).await;

    let cancel = CancelToken::new();
    cancel.cancel();
    let cut = engine.sync_now(unmetered(), &cancel, BUDGET).await.unwrap();
    assert_eq!(cut.ended, PassEnd::Cancelled);
    assert_eq!(cut.remaining, 3);
    assert!(cut.more_work && cut.run_again_in_ms == Some(0), "{cut:?}");
    // The scheduler's stop ends a background pass the same way.
    let stopped = engine.background_pass(unmetered(), &cancel, BUDGET).await.unwrap();
    assert_eq!((stopped.ended, stopped.remaining, stopped.bytes_sent), (PassEnd::Cancelled, 3, 0));
    assert!(stopped.more_work && stopped.run_again_in_ms == Some(0), "{stopped:?}");

    let done = engine.sync_now(unmetered(), &CancelToken::new(), BUDGET).await.unwrap();
    assert_eq!((done.ended, done.acknowledged, done.remaining), (PassEnd::Done, 3, 0));
    let held = intake.intake.report().await.unwrap();
    assert_eq!(held.inspections.iter().map(|i| i.evidence.len()).sum::<usize>(), 3);
}

fn not_allowed_rule(error: Error) -> String {
    match error.explain().class {
        ErrorClass::NotAllowed { rule } => rule,
        other => panic!("expected NotAllowed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_upload_is_retried_or_discarded_by_a_person_and_the_evidence_kept() {
    let intake = start_intake().await;
    let terminal = Terminal::new();
    let ids = terminal.seal_photos(2);
    let engine = enrolled(&terminal, &intake).await;

    // Nothing is stopped yet: retry and discard are refused, and change nothing.
    let first = engine.status().unwrap().items[0].item_id;
    assert_eq!(not_allowed_rule(engine.retry(first).unwrap_err()), "sync.item_not_wedged");
    assert_eq!(
        not_allowed_rule(engine.discard(first, "重复拍摄", "insp-001").unwrap_err()),
        "sync.item_not_wedged"
    );

    // The administrator revokes the device: intake refuses it, every upload stops for a person.
    let device = engine.enrolment().unwrap().unwrap().device_id;
    intake.intake.revoke(&device).await.unwrap();
    let refused = engine.sync_now(unmetered(), &CancelToken::new(), BUDGET).await.unwrap();
    assert_eq!((refused.acknowledged, refused.wedged), (0, 2), "{refused:?}");
    assert!(!refused.more_work, "only a person can move a wedged item: {refused:?}");
    let pull_stopped = refused.pull_stopped.as_ref().map(|r| r.code.as_str());
    assert_eq!(pull_stopped, Some("sync.device_revoked"), "the pull says why too: {refused:?}");
    let status = engine.status().unwrap();
    assert_eq!(status.wedged, 2);
    for item in &status.items {
        let SyncItemState::Wedged { reason } = &item.state else { panic!("{item:?}") };
        assert!(!reason.message_zh.is_empty() && !reason.message_en.is_empty(), "{reason:?}");
    }

    // A discard needs a reason and a person.
    let (a, b) = (status.items[0].item_id, status.items[1].item_id);
    for (reason, by) in [("", "insp-001"), ("  ", "insp-001"), ("重复拍摄", " ")] {
        let e = engine.discard(a, reason, by).unwrap_err();
        assert!(matches!(e.explain().class, ErrorClass::InvalidInput { .. }), "{e:?}");
    }
    engine.discard(a, "与另一张照片重复，经科长同意不再上传", "insp-001").unwrap();
    engine.retry(b).unwrap();

    let status = engine.status().unwrap();
    match &status.items[0].state {
        SyncItemState::Discarded { reason, by, .. } => {
            assert_eq!((reason.as_str(), by.as_str()), ("与另一张照片重复，经科长同意不再上传", "insp-001"))
        }
        other => panic!("expected discarded, got {other:?}"),
    }
    assert!(matches!(status.items[1].state, SyncItemState::Pending { .. }), "{status:?}");
    assert_eq!((status.discarded, status.wedged, status.pending), (1, 0, 1));
    assert_eq!(terminal.installation.status().unwrap().outbox_wedged, 0, "a discarded upload needs nobody");
    // Discarded stays discarded: no retry, no second discard, and the database itself refuses to
    // put the row back to work.
    assert_eq!(not_allowed_rule(engine.retry(a).unwrap_err()), "sync.item_discarded");
    assert_eq!(not_allowed_rule(engine.discard(a, "again", "insp-001").unwrap_err()), "sync.item_discarded");
    let revived = terminal.installation.store().write(|tx, _| {
        tx.execute("UPDATE outbox SET state = 'pending' WHERE id = ?1", [a])
            .map_err(fieldseal_core::store::StoreError::sql("revive"))?;
        Ok(())
    });
    assert!(revived.is_err(), "the trigger keeps a discarded row out of the work list");

    // The evidence is whole and verifies; the decisions are in the inspection's trail.
    let public = terminal.installation.device_public_key().unwrap();
    for id in &ids {
        fieldseal_core::evidence::verify_item(terminal.installation.store(), id, &public).unwrap();
    }
    let stream = format!("inspection:{INSPECTION}");
    let events = terminal.installation.store().read(|c, k| trail::verify_stream(c, k, &stream)).unwrap();
    let discarded = events.iter().find(|e| e.kind == "upload.discarded").expect("discard in the trail");
    assert_eq!(discarded.payload["object_id"], ids[0].as_str());
    assert_eq!(discarded.payload["reason"], "与另一张照片重复，经科长同意不再上传");
    assert_eq!(discarded.payload["stopped_for"], "sync.device_revoked");
    assert!(events.iter().any(|e| e.kind == "upload.retried" && e.payload["object_id"] == ids[1].as_str()));
}

//! Sync against a real intake on 127.0.0.1: sealed evidence uploaded by tus from the vault, receipts
//! verified under the key learnt at enrolment, refused receipts, TLS pinned to a test CA, and a
//! fault-injecting proxy between the two (resets, cut bodies, truncated answers, 5xx, delays).

use fieldseal_test_support as support;
mod sync_support;

use fieldseal_core::{
    Error,
    crypto::DeviceSigner,
    evidence::{CaptureFlag, IngestPolicy},
    outbox::{DrainReport, WedgedReason},
    sync::{ClientOptions, IntakeClient, SyncError, Trust, enrolment, pull},
};
use fieldseal_intake::http::serve;
use sync_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_evidence_is_acknowledged_only_with_receipts_naming_its_hash() {
    let intake = TestIntake::start(None).await;
    let terminal = Terminal::new();
    let ids = terminal.seal_photos(5, 320);
    let base = format!("http://{}", intake.addr);
    // Small chunks, so every photo takes several PATCHes.
    let client = terminal.client(&base, &Trust::LoopbackPlain, 4096);
    enrol(&terminal, &client, &intake).await;

    let report = terminal.driver(&client).drain(deadline()).await.unwrap();
    assert_eq!((report.acknowledged, report.wedged), (5, 0), "{report:?}");

    let receipts = terminal.receipts();
    assert_eq!(receipts.len(), 5);
    for id in &ids {
        let manifest = terminal.store.read(|c, k| fieldseal_core::store::evidence::get(c, k, id)).unwrap();
        let receipt = receipts.iter().find(|r| &r.object_id == id).expect("a receipt per item");
        assert_eq!(receipt.sha256, manifest.envelope.payload["sha256"].as_str().unwrap());
        assert_eq!(terminal.item(id).state, "acknowledged");
    }
    let held = intake.evidence().await;
    assert_eq!(held.len(), 5);
    assert!(held.iter().all(|(_, verified)| *verified), "{held:?}");

    // The clock offset was measured from intake's token grant (both clocks are this machine's).
    let offset = terminal.store.read(|c, _| enrolment::clock_offset_ms(c)).unwrap().expect("offset recorded");
    assert!(offset.abs() < 5_000, "offset {offset} ms");

    // A second drain has nothing to do: acknowledged rows are never sent again.
    let again = terminal.driver(&client).drain(deadline()).await.unwrap();
    assert_eq!(again, DrainReport::default());
}

async fn refused_receipt(tamper: Tamper) {
    let intake = TestIntake::start(None).await;
    let (base, _proxy) =
        Proxy::start(intake.addr, Mode::Tamper(tamper), Some(intake.intake.key.clone())).await;
    let terminal = Terminal::new();
    let ids = terminal.seal_photos(1, 320);
    let client = terminal.client(&base, &Trust::LoopbackPlain, 64 << 10);
    enrol(&terminal, &client, &intake).await;

    let report = terminal.driver(&client).drain(deadline()).await.unwrap();
    assert_eq!((report.acknowledged, report.wedged), (0, 1), "{report:?}");
    let item = terminal.item(&ids[0]);
    assert_eq!(item.state, "wedged");
    let reason = WedgedReason::parse(item.wedged_reason.as_deref().unwrap());
    assert_eq!(reason.code, "sync.receipt_refused");
    assert!(reason.message_zh.contains("回执") && reason.message_en.contains("receipt"), "{reason:?}");
    // Not released: the sealed item is whole in the vault and still verifies.
    let public = terminal.signer.public_key().unwrap();
    fieldseal_core::evidence::verify_item(&terminal.store, &ids[0], &public).unwrap();
    assert!(terminal.receipts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_with_a_bad_signature_is_refused_and_the_item_kept() {
    refused_receipt(Tamper::BreakSignature).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_receipt_naming_another_hash_is_refused_and_the_item_kept() {
    refused_receipt(Tamper::OtherHash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_upload_resumes_from_the_server_offset_sending_at_most_one_chunk_again() {
    const CHUNK: usize = 1024;
    let intake = TestIntake::start(None).await;
    let (base, _proxy) = Proxy::start(intake.addr, Mode::CutPatchAt(5 * CHUNK as u64), None).await;
    let terminal = Terminal::new();
    let ids = terminal.seal_photos(1, 1024);
    // The exact size is the signed manifest's: the row keeps only its size class.
    let row = terminal.store.read(|c, k| fieldseal_core::store::evidence::get(c, k, &ids[0])).unwrap();
    let size = row.envelope.payload["size"].as_u64().unwrap();
    assert!(size > 8 * CHUNK as u64, "the photo spans many chunks ({size} bytes)");
    let client = terminal.client(&base, &Trust::LoopbackPlain, CHUNK);
    enrol(&terminal, &client, &intake).await;

    // The first pass is cut: the row backs off, keeping the server's offset and the upload URL.
    let first = terminal.driver(&client).drain_once().await.unwrap();
    assert_eq!(first.retried, 1, "{first:?}");
    let item = terminal.item(&ids[0]);
    assert_eq!(item.resume_offset, 5 * CHUNK as i64, "the offset intake reported");
    assert!(item.upload_url.is_some());

    // A new client (as after an app restart) asks the server and continues the same upload.
    let restarted = terminal.client(&base, &Trust::LoopbackPlain, CHUNK);
    let rest = terminal.driver(&restarted).drain(deadline()).await.unwrap();
    assert_eq!(rest.acknowledged, 1, "{rest:?}");
    let resent = first.bytes_sent + rest.bytes_sent - size;
    println!("blob {size} bytes, sent {} + {}, re-sent {resent}", first.bytes_sent, rest.bytes_sent);
    assert!(resent <= CHUNK as u64, "re-sent {resent} bytes, more than one chunk");
    assert_eq!(intake.evidence().await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// TLS: intake with a certificate from a CA the test makes; the terminal pins that CA.

struct TestPki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    TestPki { ca_pem: ca.pem(), cert_pem: leaf.pem(), key_pem: key.serialize_pem() }
}

async fn tls_intake(pki: &TestPki, dir: &std::path::Path) -> TestIntake {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pki.cert_pem).unwrap();
    std::fs::write(&key, &pki.key_pem).unwrap();
    TestIntake::start(Some(serve::tls_acceptor(&cert, &key).unwrap())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_pinned_province_ca_is_trusted_and_another_is_refused() {
    let files = tempfile::tempdir().unwrap();
    let province = pki();
    let intake = tls_intake(&province, files.path()).await;
    let base = format!("https://{}", intake.addr);
    let terminal = Terminal::new();
    terminal.seal_photos(2, 320);

    let pinned = Trust::from_pem(province.ca_pem.as_bytes()).unwrap();
    let client = terminal.client(&base, &pinned, 64 << 10);
    enrol(&terminal, &client, &intake).await;
    let report = terminal.driver(&client).drain(deadline()).await.unwrap();
    assert_eq!(report.acknowledged, 2, "{report:?}");

    // Another CA (a server impersonating intake, or a wrong configuration): refused at the
    // handshake, as a certificate problem a person must look at, not a network blip.
    let stranger = Trust::from_pem(pki().ca_pem.as_bytes()).unwrap();
    let other = Terminal::new();
    let client = other.client(&base, &stranger, 64 << 10);
    let refused =
        enrolment::enrol(&other.store, &client, other.signer.as_ref(), &intake.code().await, None).await;
    match refused {
        Err(Error::Sync(e @ SyncError::UntrustedServer { .. })) => assert!(!e.is_transient()),
        other => panic!("expected an untrusted server, got {other:?}"),
    }
    // And the pinned client refuses plain HTTP outright.
    assert!(matches!(
        IntakeClient::new(
            &format!("http://{}", intake.addr),
            &pinned,
            ClientOptions::default(),
            terminal.signer.clone()
        ),
        Err(SyncError::PlainHttpRefused { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// The clock: intake's clock is three hours ahead of this device's.

/// An intake holding the example register whose clock runs three hours ahead of this device's.
async fn intake_three_hours_ahead() -> TestIntake {
    let ahead = fieldseal_intake::clock::OffsetClock::default();
    ahead.advance(chrono::Duration::hours(3));
    let data = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let intake = TestIntake::start_on(data, None, Some(std::sync::Arc::new(ahead))).await;
    intake.intake.import_register(&example("register.json")).await.unwrap();
    intake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_clock_hours_off_is_learnt_from_intake_and_flagged_on_later_captures() {
    let intake = intake_three_hours_ahead().await;
    let terminal = Terminal::new();
    let before = terminal.seal_photos(1, 320);
    let client = terminal.client(&intake.base(), &Trust::LoopbackPlain, 64 << 10);
    enrol(&terminal, &client, &intake).await;
    terminal.driver(&client).drain(deadline()).await.unwrap();

    let offset = terminal.store.read(|c, _| enrolment::clock_offset_ms(c)).unwrap().expect("offset measured");
    assert!((offset - 3 * 3_600_000).abs() < 5_000, "offset {offset} ms");
    let policy = IngestPolicy { known_server_offset_ms: Some(offset), ..IngestPolicy::default() };
    let after = terminal.seal_photos_with(1, 320, policy);

    let flagged = |id: &str| {
        terminal.manifest(id).flags.iter().any(
            |f| matches!(f, CaptureFlag::DeviceClockOff { offset_secs, .. } if (offset_secs - 10_800).abs() < 5),
        )
    };
    assert!(!flagged(&before[0]), "nothing was known before the first sync");
    assert!(flagged(&after[0]), "{:?}", terminal.manifest(&after[0]).flags);
    assert_eq!(terminal.manifest(&after[0]).captured.server_offset_ms, Some(offset));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_clock_hours_off_is_learnt_from_intakes_date_header_at_enrolment() {
    let intake = intake_three_hours_ahead().await;
    let terminal = Terminal::new();
    let client = terminal.client(&intake.base(), &Trust::LoopbackPlain, 64 << 10);
    // Enrolment is a challenge and the enrolment itself: neither answer has a `server_time`, only
    // the HTTP `Date`, to the second.
    enrol(&terminal, &client, &intake).await;
    let sample = client.clock_sample().expect("a sample from the Date header");
    assert!(sample.bound_ms >= 500, "a Date is good to half a second at best: {sample:?}");
    assert!((sample.offset_ms - 3 * 3_600_000).abs() <= sample.bound_ms + 1_000, "{sample:?}");

    let offset =
        terminal.store.read(|c, _| enrolment::clock_offset_ms(c)).unwrap().expect("kept at enrolment");
    assert_eq!(offset, sample.offset_ms);
    let policy = IngestPolicy { known_server_offset_ms: Some(offset), ..IngestPolicy::default() };
    let after = terminal.seal_photos_with(1, 320, policy);
    let flags = &terminal.manifest(&after[0]).flags;
    assert!(
        flags.iter().any(|f| matches!(f, CaptureFlag::DeviceClockOff { offset_secs, .. } if (offset_secs - 10_800).abs() < 5)),
        "{flags:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Pull: tasks, templates, the register and revocations by cursor, into the task list.

fn tasks_json(ids: &[&str]) -> String {
    let tasks: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| {
            serde_json::json!({"id": id, "title": "双随机抽查", "source": "double_random", "enterprise_id": "ent-001",
                "template_id": "tpl.thermal-power.permit", "planned_date": "2026-12-02", "inspectors": [INSPECTOR]})
        })
        .collect();
    serde_json::json!({ "tasks": tasks }).to_string()
}

fn task_titles(terminal: &Terminal) -> Vec<String> {
    terminal
        .store
        .read(fieldseal_core::store::inspections::task_rows)
        .unwrap()
        .into_iter()
        .map(|r| r.title)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulled_tasks_appear_in_the_task_list_once_and_the_cursor_carries_on() {
    let intake = TestIntake::start(None).await;
    intake.intake.import_templates(&example("templates/thermal-power-permit.json")).await.unwrap();
    intake.intake.import_tasks(&tasks_json(&["task-1"])).await.unwrap();
    let terminal = Terminal::new();
    let client = terminal.client(&intake.base(), &Trust::LoopbackPlain, 64 << 10);
    enrol(&terminal, &client, &intake).await;
    let at = chrono::Utc::now().fixed_offset();
    assert!(task_titles(&terminal).is_empty());

    let first = pull::pull_all(&terminal.store, &client, terminal.signer.as_ref(), at).await.unwrap();
    assert_eq!((first.tasks, first.templates, first.registers), (1, 1, 1), "{first:?}");
    assert_eq!(task_titles(&terminal), ["双随机抽查"]);
    let stored = terminal.store.read(enrolment::load).unwrap().unwrap().pull_cursor;
    assert_eq!(stored, first.cursor);
    assert!(!stored.is_empty());
    // The template and register arrived validated and usable offline.
    let template = terminal
        .store
        .read(|c, _| fieldseal_core::store::inspections::latest_template(c, "tpl.thermal-power.permit"));
    assert!(template.unwrap().is_some());

    // Nothing new: nothing applied twice. A new task (and the same one again) after the cursor.
    let again = pull::pull_all(&terminal.store, &client, terminal.signer.as_ref(), at).await.unwrap();
    assert_eq!((again.tasks, again.templates, again.registers), (0, 0, 0), "{again:?}");
    intake.intake.import_tasks(&tasks_json(&["task-1", "task-2"])).await.unwrap();
    let next = pull::pull_all(&terminal.store, &client, terminal.signer.as_ref(), at).await.unwrap();
    assert_eq!(next.tasks, 1, "only task-2 is new: {next:?}");
    assert_eq!(task_titles(&terminal).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_and_an_unusable_template_stop_the_pull_with_typed_errors() {
    let intake = TestIntake::start(None).await;
    let terminal = Terminal::new();
    let client = terminal.client(&intake.base(), &Trust::LoopbackPlain, 64 << 10);
    enrol(&terminal, &client, &intake).await;
    let at = chrono::Utc::now().fixed_offset();
    let first = pull::pull_all(&terminal.store, &client, terminal.signer.as_ref(), at).await.unwrap();

    // A template this terminal cannot accept: refused by name, its page not applied.
    intake
        .intake
        .meta
        .publish(&fieldseal_intake::store::CatalogEntry {
            kind: fieldseal_core::protocol::pull::PullKind::Template,
            id: "tpl.future".into(),
            version: "2099.1".into(),
            audience: String::new(),
            body: serde_json::json!({"id": "tpl.future", "format": 99}),
        })
        .await
        .unwrap();
    match pull::pull_all(&terminal.store, &client, terminal.signer.as_ref(), at).await {
        Err(Error::Sync(e @ SyncError::PulledItemRefused { .. })) => {
            assert!(!e.is_transient());
            assert_eq!(fieldseal_core::explain::Explain::explain(&e).code, "sync.pulled_item_refused");
        }
        other => panic!("expected a refused template, got {other:?}"),
    }
    let cursor = terminal.store.read(enrolment::load).unwrap().unwrap().pull_cursor;
    assert_eq!(cursor, first.cursor, "the refused page was not applied");

    // Revoked: the next request is refused as such, not as a network failure.
    let device_id = terminal.store.read(enrolment::load).unwrap().unwrap().device_id;
    intake.intake.revoke(&device_id).await.unwrap();
    match pull::pull_all(&terminal.store, &client, terminal.signer.as_ref(), at).await {
        Err(Error::Sync(SyncError::DeviceRevoked)) => {}
        other => panic!("expected DeviceRevoked, got {other:?}"),
    }
}

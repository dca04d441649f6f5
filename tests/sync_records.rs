//! A whole inspection reaching intake in order: its evidence, then the frozen record (its signed
//! freeze statement), then the trail head after the freeze — each an outbox row waiting for the one
//! before, each acknowledged only with a receipt naming its own hash.

#[path = "../core/tests/inspection_support/mod.rs"]
mod inspection_support;
#[path = "../core/tests/record_support/mod.rs"]
mod record_support;
use fieldseal_test_support as support;
mod sync_support;

use std::{sync::Arc, time::Duration};

use fieldseal_core::{
    crypto::signer::SoftwareSigner,
    outbox::{self, Backoff, Driver, NetworkPolicy, NetworkState, OutboxKind},
    protocol::{
        SignedEnvelope,
        receipt::{Receipt, ReceiptKind},
        trail_head::trail_head_id,
    },
    record::service,
    store::trail,
    sync::{
        ClientOptions, IntakeClient, Trust, enrolment,
        release::{self, Kept, ReleaseDecision, RetentionRule},
    },
};
use inspection_support::t;
use record_support::Visit;
use support::harness;
use sync_support::*;

/// The visit's record built, signed by both inspectors and the party, and frozen.
fn frozen(v: &Visit) -> String {
    let r = record_support::build(v);
    record_support::sign_all(v, &r);
    service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap();
    r.record_id
}

/// The visit's device key, shared with the client (same key file, loaded again).
fn signer_of(v: &Visit) -> Arc<SoftwareSigner> {
    Arc::new(
        SoftwareSigner::load_or_create(&harness::key_vault(v.dir.path()), &v.dir.path().join("device.key"))
            .unwrap(),
    )
}

fn client(base: &str, signer: Arc<SoftwareSigner>) -> IntakeClient {
    let options = ClientOptions {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        chunk_size: 16 << 10,
    };
    IntakeClient::new(base, &Trust::LoopbackPlain, options, signer).unwrap()
}

fn driver<'a>(v: &'a Visit, client: &'a IntakeClient, signer: &'a SoftwareSigner) -> Driver<'a> {
    Driver {
        store: &v.store,
        client,
        signer,
        backoff: Backoff { base: Duration::from_millis(2), cap: Duration::from_millis(20) },
        network: NetworkPolicy::new(NetworkState::Unmetered),
    }
}

fn row(v: &Visit, kind: OutboxKind, id: &str) -> outbox::OutboxItem {
    v.store.read(|c, _| outbox::get(c, kind, id)).unwrap().unwrap_or_else(|| panic!("no {kind:?} row {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_then_the_frozen_record_then_its_trail_head_are_acknowledged_in_order() {
    let intake = TestIntake::start(None).await;
    let v = record_support::visit();
    let record_id = frozen(&v);
    let stream = format!("inspection:{}", v.inspection_id);
    let (head_seq, head_hash) = v.store.read(|c, _| trail::head(c, &stream)).unwrap().unwrap();
    let head_id = trail_head_id(&stream, head_seq);

    // Queued with the freeze: the record waits for both photos, the head for the record.
    let evidence: Vec<String> = v
        .store
        .read(|c, _| outbox::all(c))
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == OutboxKind::Evidence)
        .map(|i| i.object_id)
        .collect();
    assert_eq!(evidence.len(), 2);
    let mut deps = row(&v, OutboxKind::Record, &record_id).depends_on;
    deps.sort();
    let mut want = evidence.clone();
    want.sort();
    assert_eq!(deps, want);
    assert_eq!(row(&v, OutboxKind::TrailHead, &head_id).depends_on, vec![record_id.clone()]);

    let signer = signer_of(&v);
    let client = client(&intake.base(), signer.clone());
    enrolment::enrol(&v.store, &client, signer.as_ref(), &intake.code().await, None).await.unwrap();
    // One pass sends only what is due: the photos. The record is not attempted before them.
    let first = driver(&v, &client, &signer).drain_once().await.unwrap();
    assert_eq!(first.acknowledged, 2, "{first:?}");
    assert_eq!(row(&v, OutboxKind::Record, &record_id).state, "pending");
    let rest = driver(&v, &client, &signer).drain(deadline()).await.unwrap();
    assert_eq!((rest.acknowledged, rest.wedged), (2, 0), "{rest:?}");

    // Intake stored them in dependency order, each once.
    let stored = intake.intake.meta.statements().await.unwrap();
    let order: Vec<(ReceiptKind, String)> = stored.iter().map(|s| (s.kind, s.object_id.clone())).collect();
    assert_eq!(order.len(), 4, "{order:?}");
    assert!(order[..2].iter().all(|(k, _)| *k == ReceiptKind::Evidence), "{order:?}");
    assert_eq!(order[2], (ReceiptKind::Record, record_id.clone()));
    assert_eq!(order[3], (ReceiptKind::TrailHead, head_id.clone()));

    // The receipts kept on the rows verify under the enrolled key and name each statement.
    let key = v.store.read(enrolment::load).unwrap().unwrap().server_public_key().unwrap();
    let receipt_of = |kind, id: &str| {
        let bytes: Vec<u8> = v
            .store
            .read(|c, _| {
                Ok(c.query_row(
                    "SELECT receipt FROM outbox WHERE kind = ?1 AND object_id = ?2",
                    [kind, id],
                    |r| r.get(0),
                )
                .unwrap())
            })
            .unwrap();
        let envelope = SignedEnvelope::from_json_str(std::str::from_utf8(&bytes).unwrap()).unwrap();
        Receipt::open(&envelope, &key).unwrap()
    };
    let record_receipt = receipt_of("record", &record_id);
    let freeze = v
        .store
        .read(|c, k| fieldseal_core::record::persist::load_record(c, k, &record_id))
        .unwrap()
        .freeze
        .unwrap();
    let freeze_hash = fieldseal_core::protocol::statement::statement_sha256(&freeze).unwrap();
    assert_eq!(
        (record_receipt.sha256.as_str(), record_receipt.statement_sha256.as_str()),
        (freeze_hash.as_str(), freeze_hash.as_str())
    );
    assert_eq!(record_receipt.kind, ReceiptKind::Record);
    let head_receipt = receipt_of("trail_head", &head_id);
    assert_eq!(
        (head_receipt.kind, head_receipt.object_id.as_str()),
        (ReceiptKind::TrailHead, head_id.as_str())
    );
    // What intake holds for the head is the chain's own head, signed by this device.
    let head_row = stored.iter().find(|s| s.kind == ReceiptKind::TrailHead).unwrap();
    let envelope = SignedEnvelope::from_json_str(&head_row.envelope).unwrap();
    envelope.verify(&fieldseal_core::crypto::DeviceSigner::public_key(signer.as_ref()).unwrap()).unwrap();
    assert_eq!(envelope.payload["hash"], head_hash.as_str());
    assert_eq!(envelope.payload["record_id"], record_id.as_str());
    assert_eq!(envelope.payload["inspection_id"], v.inspection_id.as_str());

    // Nothing is sent twice.
    let again = driver(&v, &client, &signer).drain(deadline()).await.unwrap();
    assert_eq!(again.acknowledged, 0);
    assert_eq!(intake.intake.meta.statements().await.unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_is_never_sent_while_its_evidence_is_unacknowledged() {
    let intake = TestIntake::start(None).await;
    // Every evidence receipt comes back re-signed over another hash: the photos wedge.
    let (base, _proxy) =
        Proxy::start(intake.addr, Mode::Tamper(Tamper::OtherHash), Some(intake.intake.key.clone())).await;
    let v = record_support::visit();
    let record_id = frozen(&v);
    let signer = signer_of(&v);
    let client = client(&base, signer.clone());
    enrolment::enrol(&v.store, &client, signer.as_ref(), &intake.code().await, None).await.unwrap();

    // The drain ends (it does not wait for rows stuck behind wedged ones) with the record unsent.
    let report = driver(&v, &client, &signer).drain(deadline()).await.unwrap();
    assert_eq!((report.acknowledged, report.wedged), (0, 2), "{report:?}");
    assert_eq!(row(&v, OutboxKind::Record, &record_id).attempts, 0);
    assert_eq!(row(&v, OutboxKind::Record, &record_id).state, "pending");
    let stored = intake.intake.meta.statements().await.unwrap();
    assert!(stored.iter().all(|s| s.kind == ReceiptKind::Evidence), "only evidence reached intake");
}

// ---------------------------------------------------------------------------------------------
// The retention rule: the vault copy of an original is released only after a verified receipt
// naming its hash, once old enough, and once the record is accepted.

/// A visit synced whole (evidence, record, trail head); returns its intake and evidence ids.
async fn synced_visit() -> (TestIntake, Visit, Vec<String>) {
    let intake = TestIntake::start(None).await;
    let v = record_support::visit();
    frozen(&v);
    let signer = signer_of(&v);
    let client = client(&intake.base(), signer.clone());
    enrolment::enrol(&v.store, &client, signer.as_ref(), &intake.code().await, None).await.unwrap();
    let report = driver(&v, &client, &signer).drain(deadline()).await.unwrap();
    assert_eq!(report.acknowledged, 4, "{report:?}");
    let ids = v
        .store
        .read(|c, _| outbox::all(c))
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == OutboxKind::Evidence)
        .map(|i| i.object_id)
        .collect();
    (intake, v, ids)
}

fn blob_in_vault(v: &Visit, evidence_id: &str) -> bool {
    let row = v.store.read(|c, k| fieldseal_core::store::evidence::get(c, k, evidence_id)).unwrap();
    v.store.vault().contains(&row.blob_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_original_is_released_only_once_old_enough_and_then_for_good() {
    let (_intake, v, ids) = synced_visit().await;
    let rule = RetentionRule { min_age: chrono::Duration::days(30), require_record_accepted: true };
    let now = chrono::Utc::now();

    let early = release::release(&v.store, &ids[0], &rule, now).unwrap();
    assert!(matches!(early, ReleaseDecision::Keep(Kept::TooRecent { .. })), "{early:?}");
    assert!(blob_in_vault(&v, &ids[0]));

    let later = now + chrono::Duration::days(31);
    let released = release::release_due(&v.store, &rule, later).unwrap();
    assert_eq!(released.len(), 2, "both photos");
    for id in &ids {
        assert!(!blob_in_vault(&v, id), "the original left the vault");
        assert!(v.store.read(|c, _| release::is_released(c, id)).unwrap());
        // The row and its signed manifest stay: the item is still listed and explained.
        v.store.read(|c, k| fieldseal_core::store::evidence::get(c, k, id)).unwrap();
    }
    let stream = format!("inspection:{}", v.inspection_id);
    let kinds: Vec<String> = v
        .store
        .read(|c, k| trail::verify_stream(c, k, &stream))
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "evidence.released").count(), 2, "{kinds:?}");
    assert_eq!(
        release::release(&v.store, &ids[0], &rule, later).unwrap(),
        ReleaseDecision::Keep(Kept::AlreadyReleased)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_naming_another_hash_never_releases_even_on_an_acknowledged_row() {
    let (intake, v, ids) = synced_visit().await;
    let any_age = RetentionRule { min_age: chrono::Duration::zero(), require_record_accepted: false };
    let far = chrono::Utc::now() + chrono::Duration::days(3650);
    let id = &ids[0];
    let stored: Vec<u8> =
        v.store.read(|c, _| outbox::acknowledged_receipt(c, OutboxKind::Evidence, id)).unwrap().unwrap();
    let real = SignedEnvelope::from_json_str(std::str::from_utf8(&stored).unwrap()).unwrap();

    // Signed by intake's real key, but over another hash; and the real one with its hash edited.
    let mut other = real.payload.clone();
    other["sha256"] = serde_json::json!("00".repeat(32));
    let resigned = SignedEnvelope::seal(&other, intake.intake.key.as_ref()).unwrap();
    let mut broken = real.clone();
    broken.payload["sha256"] = serde_json::json!("00".repeat(32));
    let row_id = row(&v, OutboxKind::Evidence, id).id;
    for (forged, why) in [(resigned, "names another content hash"), (broken, "signature does not verify")] {
        let text = forged.to_json_string().unwrap();
        v.store.write(|tx, _| outbox::acknowledge(tx, row_id, text.as_bytes())).unwrap();
        let decision = release::release(&v.store, id, &any_age, far).unwrap();
        match decision {
            ReleaseDecision::Keep(Kept::ReceiptRefused { reason }) => {
                assert!(reason.contains(why.split(' ').next().unwrap()), "{reason}")
            }
            other => panic!("released on a forged receipt: {other:?}"),
        }
        assert!(blob_in_vault(&v, id));
        fieldseal_core::evidence::verify_item(
            &v.store,
            id,
            &fieldseal_core::crypto::DeviceSigner::public_key(&v.signer).unwrap(),
        )
        .unwrap();
    }
    // Without a receipt at all the database itself refuses to record a release.
    let refused = v.store.write(|tx, _| {
        tx.execute(
            "INSERT INTO evidence_releases (evidence_id, blob_id, receipt_id, sha256, released_at, trail_hash)
             VALUES ('not-acknowledged', 'b', 'r', 's', 't', 'h')",
            [],
        )
        .map_err(|e| fieldseal_core::store::StoreError::sql("test insert")(e).into())
    });
    assert!(refused.is_err());
    // The other photo, whose receipt is genuine, is released under the same rule.
    assert!(matches!(
        release::release(&v.store, &ids[1], &any_age, far).unwrap(),
        ReleaseDecision::Release { .. }
    ));
}

//! 会签 — the province's receipt for a trail head, kept as the countersignature of the trail anchor
//! its statement names: the installation's trail verification then reports the strongest anchor.
//! A countersignature written into the slot by anyone but sync — swapped from another terminal, or
//! signed by a key other than the enrolled intake's — is refused and never counted.

#[path = "../core/tests/inspection_support/mod.rs"]
mod inspection_support;
#[path = "../core/tests/record_support/mod.rs"]
mod record_support;
use fieldseal_test_support as support;
mod sync_support;

use std::{sync::Arc, time::Duration};

use fieldseal_core::{
    FixedClock, Installation, IntegrityProblemKind, PassEnd, SyncEngine, SyncSettings,
    crypto::signer::{SoftwareSigner, key_id},
    evidence::CancelToken,
    outbox::{Backoff, NetworkPolicy, NetworkState},
    protocol::{
        SignedEnvelope,
        envelope::signing_input,
        receipt::{RECEIPT_TYPE, RECEIPT_VERSION, Receipt, ReceiptKind},
        trail_head::{AnchorRef, TRAIL_HEAD_TYPE, TRAIL_HEAD_VERSION, TrailHeadStatement, trail_head_id},
    },
    record::{PartyStatement, SignerRole, Strokes},
    store::anchors,
    sync::{ClientOptions, receipt::Countersignature},
    trail::anchor::{AnchorStrength, verify_anchors},
};
use inspection_support::t;
use support::harness;
use sync_support::TestIntake;

/// A terminal whose visit was signed by both inspectors and the party and frozen through the
/// installation (which anchors the trail at the freeze), enrolled with `intake`.
struct Signed {
    _dir: tempfile::TempDir,
    installation: Installation,
    engine: SyncEngine,
    signer: Arc<SoftwareSigner>,
}

async fn signed_and_enrolled(intake: &TestIntake) -> Signed {
    let record_support::Visit { dir, store, signer, inspection_id } = record_support::visit();
    drop(store);
    let signer = Arc::new(signer);
    let installation = Installation::open(
        dir.path().join("data"),
        &harness::key_vault(dir.path()),
        signer.clone(),
        Arc::new(FixedClock::new(t("10:40"))),
    )
    .unwrap();
    let records = installation.records(&inspection_id);
    let r = records.build(PartyStatement::confirmed(), true, None).unwrap();
    for (role, inspector, seed) in [
        (SignerRole::Inspector, Some("insp-001"), 1),
        (SignerRole::Inspector, Some("insp-002"), 2),
        (SignerRole::Party, None, 3),
    ] {
        let by = inspector.map(str::to_owned);
        let strokes = Strokes::synthetic(seed);
        records
            .sign(&r.record_id, &r.document_hash, role, by, None, strokes, harness::clock(), None)
            .unwrap();
    }
    assert!(records.freeze(&r.record_id).unwrap().frozen);
    let settings = SyncSettings { intake_url: intake.base(), province_ca_pem: None };
    let options = ClientOptions {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        chunk_size: 16 << 10,
    };
    let backoff = Backoff { base: Duration::from_millis(2), cap: Duration::from_millis(20) };
    let engine = installation.sync_with(&settings, options, backoff).unwrap();
    engine.enrol(&intake.code().await, None).await.unwrap();
    Signed { _dir: dir, installation, engine, signer }
}

/// The installation's anchors, verified: (counter, anchor hash, stream, seq, head hash) of each.
fn anchors_of(s: &Signed) -> Vec<(u64, String, String, i64, String)> {
    let stored = s.installation.store().read(anchors::all).unwrap();
    let public = fieldseal_core::crypto::DeviceSigner::public_key(s.signer.as_ref()).unwrap();
    verify_anchors(&stored, &public)
        .unwrap()
        .statements
        .into_iter()
        .map(|(st, hash)| (st.counter, hash, st.stream, st.seq, st.head))
        .collect()
}

async fn sync(s: &Signed) -> fieldseal_core::SyncOutcome {
    let network = NetworkPolicy::new(NetworkState::Unmetered);
    s.engine.sync_now(network, &CancelToken::new(), Duration::from_secs(60)).await.unwrap()
}

fn slots(s: &Signed) -> Vec<(u64, Vec<u8>)> {
    s.installation.store().read(|c, _| anchors::countersignatures(c)).unwrap()
}

fn refused_counters(v: &fieldseal_core::TrailVerification) -> Vec<u64> {
    v.problems
        .iter()
        .filter_map(|p| match &p.kind {
            IntegrityProblemKind::CountersignatureRefused { counter, .. } => Some(*counter),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_province_countersigns_the_trail_head_and_verification_reports_the_strongest_anchor() {
    let intake = TestIntake::start(None).await;
    let a = signed_and_enrolled(&intake).await;
    let before = a.installation.verify_trail().unwrap();
    assert!(before.all_good, "{:?}", before.problems);
    assert_ne!(before.anchor_strength, AnchorStrength::Countersigned);
    assert_eq!(before.anchors_countersigned, 0);
    assert!(slots(&a).is_empty());

    let outcome = sync(&a).await;
    assert_eq!(
        (outcome.ended, outcome.acknowledged, outcome.remaining),
        (PassEnd::Done, 4, 0),
        "{outcome:?}"
    );

    // The freeze's anchor holds intake's receipt for the trail-head statement that names it.
    let kept = slots(&a);
    assert_eq!(kept.len(), 1, "one anchor countersigned");
    let (counter, bytes) = &kept[0];
    let (_, hash, stream, seq, _) = anchors_of(&a).into_iter().find(|x| x.0 == *counter).unwrap();
    let countersignature = Countersignature::from_bytes(bytes).unwrap();
    let head: TrailHeadStatement = serde_json::from_value(countersignature.trail_head.clone()).unwrap();
    assert_eq!(head.anchor, Some(AnchorRef { counter: *counter, anchor_hash: hash.clone() }));
    assert_eq!((head.stream.as_str(), head.seq), (stream.as_str(), seq), "the anchor signs this very head");
    let receipt = Receipt::open(&countersignature.receipt, &intake.intake.key.public_key_bytes()).unwrap();
    assert_eq!((receipt.kind, receipt.object_id.as_str()), (ReceiptKind::TrailHead, head.trail_id.as_str()));

    let after = a.installation.verify_trail().unwrap();
    assert!(after.all_good, "{:?}", after.problems);
    assert_eq!(after.anchor_strength, AnchorStrength::Countersigned);
    assert_eq!(after.anchors_countersigned, 1);
    assert!(after.anchor_message_en.contains("province countersigned"), "{}", after.anchor_message_en);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_swapped_countersignature_is_refused_and_not_counted() {
    let intake = TestIntake::start(None).await;
    // A genuine countersignature, from a terminal that synced.
    let a = signed_and_enrolled(&intake).await;
    assert_eq!(sync(&a).await.remaining, 0);
    let genuine = slots(&a).remove(0).1;

    // Swapped: terminal B (same intake, never synced) gets A's genuine countersignature in the slot
    // of its own freeze anchor. It verifies under the intake key but names A's anchor.
    let b = signed_and_enrolled(&intake).await;
    let (b_counter, ..) = anchors_of(&b).into_iter().rev().find(|x| x.2.starts_with("inspection:")).unwrap();
    b.installation.store().write(|tx, _| anchors::set_countersignature(tx, b_counter, &genuine)).unwrap();
    let swapped = b.installation.verify_trail().unwrap();
    assert!(!swapped.all_good);
    assert_eq!(refused_counters(&swapped), vec![b_counter]);
    assert_eq!(swapped.anchors_countersigned, 0);
    assert_ne!(swapped.anchor_strength, AnchorStrength::Countersigned);

    // Forged: terminal C's slot gets a receipt for a correct statement naming C's anchor, signed by
    // a key that is not the enrolled intake's.
    let c = signed_and_enrolled(&intake).await;
    let (counter, hash, stream, seq, head_hash) =
        anchors_of(&c).into_iter().rev().find(|x| x.2.starts_with("inspection:")).unwrap();
    let head = TrailHeadStatement {
        statement: TRAIL_HEAD_TYPE.into(),
        v: TRAIL_HEAD_VERSION,
        trail_id: trail_head_id(&stream, seq),
        inspection_id: stream.trim_start_matches("inspection:").into(),
        stream: stream.clone(),
        seq,
        hash: head_hash,
        at: "2026-06-01T02:50:00.000Z".into(),
        record_id: "r".into(),
        device_key_id: key_id(&fieldseal_core::crypto::DeviceSigner::public_key(c.signer.as_ref()).unwrap())
            .unwrap(),
        anchor: Some(AnchorRef { counter, anchor_hash: hash }),
    };
    let payload = serde_json::to_value(&head).unwrap();
    let statement_hash = fieldseal_core::crypto::column::hex(
        ring::digest::digest(&ring::digest::SHA256, &signing_input(&payload).unwrap()).as_ref(),
    );
    let device_id = c.engine.enrolment().unwrap().unwrap().device_id;
    let receipt = Receipt {
        statement: RECEIPT_TYPE.into(),
        v: RECEIPT_VERSION,
        receipt_id: "forged".into(),
        kind: ReceiptKind::TrailHead,
        object_id: head.trail_id.clone(),
        sha256: statement_hash.clone(),
        statement_sha256: statement_hash,
        device_id,
        device_key_id: head.device_key_id.clone(),
        received_at: "2026-06-01T02:51:00Z".parse().unwrap(),
    };
    let impostor = SoftwareSigner::ephemeral().unwrap();
    let forged = Countersignature {
        receipt: SignedEnvelope::seal(&serde_json::to_value(&receipt).unwrap(), &impostor).unwrap(),
        trail_head: payload,
    };
    c.installation
        .store()
        .write(|tx, _| anchors::set_countersignature(tx, counter, &forged.to_bytes().unwrap()))
        .unwrap();
    let v = c.installation.verify_trail().unwrap();
    assert!(!v.all_good);
    assert_eq!(refused_counters(&v), vec![counter]);
    assert_eq!(v.anchors_countersigned, 0);
    assert_ne!(v.anchor_strength, AnchorStrength::Countersigned);
    let problem =
        v.problems.iter().find(|p| matches!(p.kind, IntegrityProblemKind::CountersignatureRefused { .. }));
    let problem = problem.unwrap();
    assert!(problem.message_zh.contains("会签") && problem.message_en.contains("countersignature"));
    assert!(
        !problem.message_en.contains("tamper"),
        "a refusal never blames tampering: {}",
        problem.message_en
    );
}

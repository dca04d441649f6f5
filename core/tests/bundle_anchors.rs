//! The signed trail heads an exported bundle carries (`trail/anchors.json`): the verifier checks
//! each head's device signature, that the trail holds every head and ends at the last, and names
//! events after the last head as not covered rather than as tampering. A bundle whose trail was
//! cut, or whose head signature was altered, fails even when its member list was signed again
//! over the change (an exporter working from a cut database, or one holding the key).

mod inspection_support;
mod record_support;
use fieldseal_test_support as support;

use std::collections::BTreeMap;

use fieldseal_core::{
    bundle::format,
    crypto::DeviceSigner,
    protocol::{SignedEnvelope, canonicalize},
    record::statements,
    trail::TrailEntry,
    verify::{CheckOutcome, VerificationReport, VerifyOptions, verify_members},
};
use record_support::*;

type Members = BTreeMap<String, Vec<u8>>;

fn verify(v: &Visit, m: &Members) -> VerificationReport {
    let mut report = VerificationReport::default();
    let options =
        VerifyOptions { trusted_key: Some(v.signer.public_key().unwrap()), ..VerifyOptions::default() };
    verify_members(&mut m.clone(), &options, &mut report);
    report
}

fn outcomes<'a>(report: &'a VerificationReport, check: &str) -> Vec<(CheckOutcome, &'a str)> {
    report.checks.iter().filter(|c| c.check == check).map(|c| (c.outcome, c.detail.as_str())).collect()
}

fn failed(report: &VerificationReport) -> Vec<(&str, &str)> {
    report
        .checks
        .iter()
        .filter(|c| c.outcome == CheckOutcome::Failed)
        .map(|c| (c.check.as_str(), c.subject.as_str()))
        .collect()
}

fn canonical<T: serde::Serialize>(value: &T) -> Vec<u8> {
    canonicalize(&serde_json::to_value(value).unwrap()).unwrap().into_bytes()
}

/// Replaces `path` with `bytes` (or removes it) and signs the member list again with the device
/// key, as an exporter that holds the key would write it.
fn replace_and_resign(v: &Visit, m: &mut Members, path: &str, bytes: Option<Vec<u8>>) {
    let list =
        SignedEnvelope::from_json_str(std::str::from_utf8(&m[format::MANIFEST_PATH]).unwrap()).unwrap();
    let mut payload = list.payload.clone();
    let entries = payload["members"].as_array_mut().unwrap();
    match &bytes {
        Some(b) => {
            let entry = entries.iter_mut().find(|e| e["path"] == path).unwrap();
            entry["size"] = b.len().into();
            entry["sha256"] = statements::sha256_hex(b).into();
        }
        None => entries.retain(|e| e["path"] != path),
    }
    match bytes {
        Some(b) => m.insert(path.to_owned(), b),
        None => m.remove(path),
    };
    m.insert(
        format::MANIFEST_PATH.into(),
        SignedEnvelope::seal(&payload, &v.signer).unwrap().to_json_string().unwrap().into_bytes(),
    );
}

fn heads(m: &Members) -> Vec<SignedEnvelope> {
    serde_json::from_slice(&m[format::ANCHORS_PATH]).unwrap()
}

fn trail(m: &Members) -> Vec<TrailEntry> {
    serde_json::from_slice(&m[format::TRAIL_PATH]).unwrap()
}

#[test]
fn an_exported_bundle_carries_its_signed_heads_and_its_trail_ends_at_the_last() {
    let v = visit();
    let (_, path) = frozen_bundle(&v, None);
    let m = members(&path);
    let report = verify(&v, &m);
    assert!(report.ok(), "{}", report.render_text());
    let signed = heads(&m);
    assert_eq!(signed.len(), 2, "heads signed at the freeze and at the export");
    let last = &signed.last().unwrap().payload;
    let events = trail(&m);
    assert_eq!(last["seq"], events.last().unwrap().seq);
    assert_eq!(last["head"], events.last().unwrap().hash.as_str());
    assert_eq!(events.last().unwrap().kind, "record.exported", "the export's own event is covered too");
    assert_eq!(outcomes(&report, "trail.anchor_signature").len(), signed.len());
    assert_eq!(outcomes(&report, "trail.anchored_tail")[0].0, CheckOutcome::Passed);
}

#[test]
fn a_truncated_trail_is_named_as_truncated_even_under_a_re_signed_member_list() {
    let v = visit();
    let (_, path) = frozen_bundle(&v, None);
    let mut m = members(&path);
    let mut events = trail(&m);
    events.pop();
    replace_and_resign(&v, &mut m, format::TRAIL_PATH, Some(canonical(&events)));
    let report = verify(&v, &m);
    assert!(!report.ok());
    // The shorter chain still links: only the signed head shows the cut.
    assert_eq!(outcomes(&report, "trail.chain")[0].0, CheckOutcome::Passed);
    let heads_check = outcomes(&report, "trail.anchor_heads");
    assert_eq!(heads_check.len(), 1, "{heads_check:?}");
    assert_eq!(heads_check[0].0, CheckOutcome::Failed);
    assert!(heads_check[0].1.contains("truncated"), "{}", heads_check[0].1);
    assert!(failed(&report).iter().all(|(c, _)| *c == "trail.anchor_heads"), "{:?}", failed(&report));
}

#[test]
fn an_altered_head_signature_is_refused_naming_the_head() {
    let v = visit();
    let (_, path) = frozen_bundle(&v, None);
    let mut m = members(&path);
    let mut signed = heads(&m);
    let last = signed.last_mut().unwrap();
    let counter = last.payload["counter"].as_u64().unwrap();
    let first = if last.signature.starts_with('A') { "B" } else { "A" };
    last.signature.replace_range(..1, first);
    replace_and_resign(&v, &mut m, format::ANCHORS_PATH, Some(canonical(&signed)));
    let report = verify(&v, &m);
    assert!(!report.ok());
    let subject = format!("{}#{counter}", format::ANCHORS_PATH);
    assert_eq!(failed(&report), vec![("trail.anchor_signature", subject.as_str())]);
    assert_eq!(outcomes(&report, "trail.anchor_heads")[0].0, CheckOutcome::NotChecked);
}

#[test]
fn an_altered_heads_member_under_the_original_member_list_is_named_by_its_hash() {
    let v = visit();
    let (_, path) = frozen_bundle(&v, None);
    let mut m = members(&path);
    let mut signed = heads(&m);
    signed.last_mut().unwrap().signature.replace_range(..1, "A");
    m.insert(format::ANCHORS_PATH.into(), canonical(&signed));
    let report = verify(&v, &m);
    assert!(failed(&report).contains(&("member.hash", format::ANCHORS_PATH)), "{:?}", failed(&report));
    assert_eq!(outcomes(&report, "trail.anchors")[0].0, CheckOutcome::NotChecked);
}

#[test]
fn events_after_the_last_signed_head_are_named_not_covered_and_not_called_tampering() {
    let v = visit();
    let (_, path) = frozen_bundle(&v, None);
    let mut m = members(&path);
    assert!(verify(&v, &m).ok());
    let mut signed = heads(&m);
    assert_eq!(signed.len(), 2);
    signed.pop();
    replace_and_resign(&v, &mut m, format::ANCHORS_PATH, Some(canonical(&signed)));
    let report = verify(&v, &m);
    assert!(failed(&report).is_empty(), "{:?}", failed(&report));
    let tail = outcomes(&report, "trail.anchored_tail");
    assert_eq!(tail[0].0, CheckOutcome::NotChecked);
    assert!(tail[0].1.contains("not covered by a signed head") && tail[0].1.contains("record.exported"));
    assert!(!tail[0].1.contains("tamper"));
}

#[test]
fn a_bundle_without_signed_heads_is_not_verified_but_not_failed() {
    let v = visit();
    let (_, path) = frozen_bundle(&v, None);
    let mut m = members(&path);
    replace_and_resign(&v, &mut m, format::ANCHORS_PATH, None);
    let report = verify(&v, &m);
    assert!(!report.ok());
    assert!(failed(&report).is_empty(), "{:?}", failed(&report));
    assert_eq!(outcomes(&report, "trail.anchors")[0].0, CheckOutcome::NotChecked);
}

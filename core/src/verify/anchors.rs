//! 链头校验 — the signed trail heads a bundle carries (`trail/anchors.json`), checked against the
//! exported trail.
//!
//! Each head must be signed by the device key, be a trail-head statement of this inspection's
//! stream, and come in counter order (counters have gaps: the installation's other streams hold
//! the rest of its anchor chain, which stays on the device). Each head must still be in the trail —
//! the event it names there with the signed hash and as many `evidence.sealed` events up to it as
//! were signed — so a stream cut after export, or exported from a cut database, shows. Events after
//! the last signed head are named as *not covered by a signed head*: not a failure (nothing says
//! they were altered), but not verified either.

use super::report::VerificationReport;
use crate::{
    bundle::format::ANCHORS_PATH,
    protocol::SignedEnvelope,
    trail::{
        TrailEntry,
        anchor::{StreamCut, TRAIL_HEAD_TYPE, TRAIL_HEAD_VERSION, TrailHeadStatement, stream_holds},
    },
};

fn subject(counter: Option<u64>) -> String {
    match counter {
        Some(c) => format!("{ANCHORS_PATH}#{c}"),
        None => ANCHORS_PATH.to_owned(),
    }
}

/// Checks the signed heads `envelopes` (already parsed from the member) of `stream` under
/// `public_key`; with `trail` (the chain verified), also that the trail holds each of them and
/// ends at the last.
pub(super) fn check_signed_heads(
    report: &mut VerificationReport,
    public_key: &[u8],
    stream: &str,
    envelopes: &[SignedEnvelope],
    trail: Option<&[TrailEntry]>,
) {
    let mut heads: Vec<TrailHeadStatement> = Vec::new();
    let mut sound = true;
    for envelope in envelopes {
        let counter = envelope.payload.get("counter").and_then(|c| c.as_u64());
        let at = subject(counter);
        if envelope.verify(public_key).is_err() {
            report.fail(
                "trail.anchor_signature",
                at,
                "the device signature of this signed head does not verify",
            );
            sound = false;
            continue;
        }
        let statement = serde_json::from_value::<TrailHeadStatement>(envelope.payload.clone())
            .map_err(|e| e.to_string())
            .and_then(|s| {
                if s.statement != TRAIL_HEAD_TYPE || s.v != TRAIL_HEAD_VERSION {
                    Err(format!("not a {TRAIL_HEAD_TYPE} v{TRAIL_HEAD_VERSION}"))
                } else if s.stream != stream {
                    Err(format!("names stream {}, not this inspection's", s.stream))
                } else if let Some(p) = heads.last().filter(|p| p.counter >= s.counter || p.seq > s.seq) {
                    Err(format!("out of order after signed head {}", p.counter))
                } else {
                    Ok(s)
                }
            });
        match statement {
            Ok(s) => {
                report.pass(
                    "trail.anchor_signature",
                    at,
                    format!("event {} signed by the device key at {}", s.seq, s.at),
                );
                heads.push(s);
            }
            Err(e) => {
                report.fail("trail.anchor_signature", at, e);
                sound = false;
            }
        }
    }
    let Some(trail) = trail else { return };
    if !sound {
        report.skip(
            "trail.anchor_heads",
            ANCHORS_PATH,
            "not checked: a signed head does not verify (see above)",
        );
        return;
    }
    let Some(last) = heads.last() else {
        report.fail("trail.anchor_heads", ANCHORS_PATH, "the bundle carries no signed head of its trail");
        return;
    };
    let mut held = true;
    for head in &heads {
        let at = subject(Some(head.counter));
        match stream_holds(head, trail) {
            Ok(()) => {}
            Err(StreamCut::Truncated { anchored_seq, present_seq }) => {
                held = false;
                report.fail(
                    "trail.anchor_heads",
                    at,
                    format!(
                        "the trail is truncated: it ends at event {present_seq}, but a signed head names event {anchored_seq}"
                    ),
                );
            }
            Err(StreamCut::Rewritten { anchored_seq }) => {
                held = false;
                report.fail(
                    "trail.anchor_heads",
                    at,
                    format!("event {anchored_seq} of the trail is not the one its signed head names"),
                );
            }
            Err(StreamCut::EvidenceCount { signed, present }) => {
                held = false;
                report.fail(
                    "trail.anchor_heads",
                    at,
                    format!(
                        "{present} items sealed up to this head in the trail; the signed head says {signed}"
                    ),
                );
            }
        }
    }
    if !held {
        return;
    }
    report.pass(
        "trail.anchor_heads",
        ANCHORS_PATH,
        format!("the trail holds all {} signed heads, the last at event {}", heads.len(), last.seq),
    );
    let after: Vec<&TrailEntry> = trail.iter().filter(|e| e.seq > last.seq).collect();
    if after.is_empty() {
        report.pass(
            "trail.anchored_tail",
            ANCHORS_PATH,
            format!("the trail ends at its last signed head (event {})", last.seq),
        );
    } else {
        let named: Vec<String> = after.iter().map(|e| format!("{} ({})", e.seq, e.kind)).collect();
        report.skip(
            "trail.anchored_tail",
            ANCHORS_PATH,
            format!(
                "not covered by a signed head: event(s) {} come after the last signed head (event {}); they verify in the chain, but a cut there would not show",
                named.join(", "),
                last.seq
            ),
        );
    }
}

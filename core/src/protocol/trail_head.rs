//! 全过程记录链头 — the trail-head statement a device submits to intake (`POST /v1/trail-heads`)
//! after the frozen record it follows, so intake countersigns (receipts) how far the inspection's
//! chain went.
//!
//! Intake reads `type`, `trail_id` and `inspection_id` (intake/src/service/statements.rs); the rest
//! is what a reviewer compares with an exported bundle's trail. The payload is a pure function of
//! the stored chain (no signing time in it): re-signing it after a lost answer names the same
//! statement ([`super::statement::statement_sha256`] covers the payload, not the randomised
//! signature), so intake answers with the receipt it issued the first time.
//!
//! Version 2 adds `anchor`: the installation's signed head (trail anchor, `crate::trail::anchor`)
//! that signs this head, or the first one of the stream after it, by counter and anchor hash. Intake's receipt signs the statement's
//! hash and therefore the anchor hash in it: the device keeps the receipt with the statement as that
//! anchor's countersignature ([`crate::sync::receipt::Countersignature`]). `null` when no anchor of
//! the stream reaches the head yet (a crash between the freeze and its anchor).

use serde::{Deserialize, Serialize};

/// Intake's statement type for trail heads.
pub const TRAIL_HEAD_TYPE: &str = "trail_head";
pub const TRAIL_HEAD_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailHeadStatement {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    /// This head's id at intake: `<stream>@<seq>` ([`trail_head_id`]). Each later head of the same
    /// stream (an addendum's freeze) is its own object, never a conflicting resubmission.
    pub trail_id: String,
    pub inspection_id: String,
    /// `inspection:<id>`.
    pub stream: String,
    pub seq: i64,
    /// The event hash at `seq` (docs/formats/trail.md).
    pub hash: String,
    /// When the head event was appended (RFC 3339, the trail's own `at`).
    pub at: String,
    /// The frozen record (or addendum) this head follows.
    pub record_id: String,
    pub device_key_id: String,
    /// The oldest anchor of `stream` at or after `seq` (v2).
    pub anchor: Option<AnchorRef>,
}

/// 锚定 — one of the installation's signed heads, as a trail-head statement names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorRef {
    pub counter: u64,
    pub anchor_hash: String,
}

/// `<stream>@<seq>`: the outbox object id and intake's `trail_id` of one head.
pub fn trail_head_id(stream: &str, seq: i64) -> String {
    format!("{stream}@{seq}")
}

/// Splits a [`trail_head_id`] back into stream and sequence number.
pub fn parse_trail_head_id(id: &str) -> Option<(&str, i64)> {
    let (stream, seq) = id.rsplit_once('@')?;
    let seq = seq.parse().ok().filter(|s: &i64| *s >= 1)?;
    (!stream.is_empty()).then_some((stream, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_id_round_trips_and_nothing_else_parses() {
        let id = trail_head_id("inspection:ab12", 7);
        assert_eq!(id, "inspection:ab12@7");
        assert_eq!(parse_trail_head_id(&id), Some(("inspection:ab12", 7)));
        for bad in ["inspection:ab12", "inspection:ab12@", "@3", "inspection:ab12@0", "x@-1", "x@1e3"] {
            assert_eq!(parse_trail_head_id(bad), None, "{bad}");
        }
    }
}

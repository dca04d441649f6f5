//! 锚定 — signed trail heads and the checkpoint outside the database: what makes a cut trail show.
//!
//! # The problem
//!
//! A hash chain proves that nothing *inside* it changed, but not that nothing was cut off its end.
//! Anyone who can write the database file can delete the last three events of a stream (the chain
//! of the first two still verifies), delete a whole stream, or put back an older copy of the whole
//! database. Holding the column key they can even rebuild a chain from scratch: the event hash is
//! keyless by design, so that a third party can recompute it from a bundle.
//!
//! # Signed heads (trail anchors)
//!
//! At every change of an inspection's state, after each sealed item of evidence, at freeze and
//! when recovery removes a blob, the installation signs the head of the stream concerned with the
//! device key (ES256, in the ordinary [`SignedEnvelope`]; on a phone the key lives in Keystore or
//! the Secure Enclave, so the database's owner cannot sign). The signed payload is a
//! [`TrailHeadStatement`]:
//!
//! ```json
//! {"type":"fieldseal.trail_head","v":1,"counter":7,"prev_anchor":"<anchor hash of 6>",
//!  "stream":"inspection:…","seq":5,"head":"<hash of event 5>","state":"on_site",
//!  "evidence_sealed":2,"at":"2026-12-01T02:30:00.000Z"}
//! ```
//!
//! The statements of one installation form a chain of their own, across all streams: `counter`
//! runs 1, 2, 3, … without gaps and `prev_anchor` names the previous statement's *anchor hash*,
//!
//! ```text
//! anchor_hash = hex(SHA-256("fieldseal-trail-anchor-v1\n" ‖ JCS(payload)))
//! ```
//!
//! (64 zeros for counter 1). Verification ([`verify_anchors`]) checks every signature, the counter
//! sequence and the links, and then that each statement's `(stream, seq, head)` is still in the
//! trail. So: cutting events at or below an anchored `seq` loses the event the anchor names;
//! deleting a stream leaves anchors naming a stream that is gone; deleting anchors breaks the
//! counter sequence or the links, except at the very end — which is what the checkpoint is for.
//!
//! `state` is the inspection's state (its stable code) at the anchored head, and `evidence_sealed`
//! the number of `evidence.sealed` events up to it, so the state and the evidence set are signed
//! together with the chain; the installation's check compares both with the stored inspection
//! and the evidence rows.
//!
//! # The checkpoint
//!
//! After each anchor commits, the installation hands `(counter, anchor_hash)` — a
//! [`TrailCheckpoint`] — to the platform's key vault, which keeps it outside SQLite (Android: an
//! entry beside the Keystore-wrapped key, best in a rollback-resistant key's storage; iOS: a
//! Keychain item that is not backed up; CLI and tests: a 0600 file beside the key file). The
//! checkpoint only moves forward: the core never stores a lower counter and a platform must
//! refuse one. At open and in every verification the database's anchors are compared with it:
//!
//! - the database has the checkpoint's anchor (same counter, same hash): fine; anchors beyond it
//!   (a crash after the commit, before the checkpoint moved) are verified and the checkpoint
//!   catches up;
//! - the database's anchors end before the checkpoint, or its anchor at that counter differs: the
//!   tail was cut or an older copy of the database was put back (`rolled_back`).
//!
//! Only when the two agree does the database count as the latest one, and only then may recovery
//! remove a blob it finds no trace of (see `crate::evidence::sweep`).
//!
//! A platform without such storage still works: verification then reports the anchor as
//! [`AnchorStrength::SignedHeadsOnly`] ("anchor weaker", in Chinese and English), never silently.
//!
//! # What remains possible
//!
//! Events appended after the last anchor are covered by the next one only; cutting them before it
//! is signed is not detected (the window is one state change or one capture). Someone who restores
//! both the database and the platform's checkpoint storage to an older copy is detected only by the
//! server: each anchor row has a `countersignature` slot, which sync fills with intake's verified
//! receipt for the trail-head statement naming that anchor's counter and hash
//! (`crate::sync::receipt::Countersignature`); a server that has countersigned counter `n` knows
//! any device presenting less was rolled back. Verification checks each kept countersignature
//! under the enrolled intake key and reports [`AnchorStrength::Countersigned`] once one holds.

use ring::digest;
use serde::{Deserialize, Serialize};

use super::{GENESIS, TrailEntry};
use crate::{
    crypto::column::hex,
    protocol::{SignedEnvelope, canonicalize},
};

/// The statement type of a signed trail head.
pub const TRAIL_HEAD_TYPE: &str = "fieldseal.trail_head";
pub const TRAIL_HEAD_VERSION: u32 = 1;
const ANCHOR_DOMAIN: &[u8] = b"fieldseal-trail-anchor-v1\n";

/// 签名的链头 — what the device key signs about a stream's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailHeadStatement {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    /// 1, 2, 3, … across the installation's streams.
    pub counter: u64,
    /// The previous statement's anchor hash, or 64 zeros for counter 1.
    pub prev_anchor: String,
    pub stream: String,
    pub seq: i64,
    /// The hash of event `seq`.
    pub head: String,
    /// The inspection's state code at this head (`None` for the device stream).
    pub state: Option<String>,
    /// How many `evidence.sealed` events the stream has up to `seq`.
    pub evidence_sealed: u64,
    /// RFC 3339 UTC, from the installation's clock.
    pub at: String,
}

impl TrailHeadStatement {
    /// The anchor hash: SHA-256 over the domain and the canonical payload (see the module header).
    pub fn anchor_hash(&self) -> Result<String, AnchorBreak> {
        let value = serde_json::to_value(self).map_err(|e| AnchorBreak::malformed(self.counter, e))?;
        anchor_hash_of(&value).map_err(|e| AnchorBreak::malformed(self.counter, e))
    }
}

/// [`TrailHeadStatement::anchor_hash`] of a payload as found in an envelope.
pub fn anchor_hash_of(payload: &serde_json::Value) -> Result<String, crate::protocol::ProtocolError> {
    let canonical = canonicalize(payload)?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(ANCHOR_DOMAIN);
    ctx.update(canonical.as_bytes());
    Ok(hex(ctx.finish().as_ref()))
}

/// 检查点 — the latest anchor as the platform keeps it outside the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TrailCheckpoint {
    pub counter: u64,
    pub anchor_hash: String,
}

/// How strongly the trail is anchored on this installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum AnchorStrength {
    /// 省级平台会签 — the strongest: a signed head the province countersigned (intake's verified
    /// receipt for the trail-head statement naming it): the province holds the trail up to it, so
    /// even a database restored together with the platform's checkpoint cannot go back past it
    /// unseen by intake.
    Countersigned,
    /// Signed heads and a checkpoint the platform keeps outside the database.
    Checkpointed,
    /// 锚定较弱 — signed heads only: the platform keeps no checkpoint, so cutting the newest
    /// anchors together with their events, or restoring an older database, is not detected.
    SignedHeadsOnly,
}

impl AnchorStrength {
    pub fn message_zh(self) -> &'static str {
        match self {
            AnchorStrength::Countersigned => {
                "全过程记录已签名锚定，且省级平台已对链头会签：平台持有截至该链头的记录。"
            }
            AnchorStrength::Checkpointed => "全过程记录已签名锚定，并在数据库之外保存了检查点。",
            AnchorStrength::SignedHeadsOnly => {
                "锚定较弱：本设备的密钥库不保存检查点，只能发现被签名链头覆盖的删改；恢复旧数据库副本无法被发现。请使用支持检查点的密钥库或尽快同步。"
            }
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            AnchorStrength::Countersigned => {
                "The trail is anchored by signed heads, and the province countersigned a head: intake holds the trail up to it."
            }
            AnchorStrength::Checkpointed => {
                "The trail is anchored by signed heads and a checkpoint kept outside the database."
            }
            AnchorStrength::SignedHeadsOnly => {
                "Anchor weaker: this device's key vault keeps no checkpoint, so only cuts below a signed head are detected, not a restored older database. Use a key vault with checkpoint support or sync soon."
            }
        }
    }
}

/// A stored anchor: its statement's envelope and the position it names.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnchor {
    pub counter: u64,
    pub envelope: SignedEnvelope,
}

/// Why the anchors do not verify, naming the anchor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorBreak {
    #[error("anchor {counter}: out of sequence (expected {expected})")]
    Sequence { counter: u64, expected: u64 },
    #[error("anchor {counter}: does not link to the previous anchor")]
    Link { counter: u64 },
    #[error("anchor {counter}: the device signature does not verify")]
    Signature { counter: u64 },
    #[error("anchor {counter}: {reason}")]
    Malformed { counter: u64, reason: String },
}

impl AnchorBreak {
    fn malformed(counter: u64, e: impl std::fmt::Display) -> Self {
        AnchorBreak::Malformed { counter, reason: e.to_string() }
    }
}

/// Anchors that verified, oldest first, with their hashes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifiedAnchors {
    pub statements: Vec<(TrailHeadStatement, String)>,
}

impl VerifiedAnchors {
    /// The newest anchor as a checkpoint.
    pub fn latest(&self) -> Option<TrailCheckpoint> {
        self.statements
            .last()
            .map(|(s, hash)| TrailCheckpoint { counter: s.counter, anchor_hash: hash.clone() })
    }

    pub fn hash_at(&self, counter: u64) -> Option<&str> {
        let index = usize::try_from(counter.checked_sub(1)?).ok()?;
        self.statements.get(index).map(|(_, h)| h.as_str())
    }

    /// The newest anchor of `stream`.
    pub fn latest_of(&self, stream: &str) -> Option<&TrailHeadStatement> {
        self.statements.iter().rev().map(|(s, _)| s).find(|s| s.stream == stream)
    }
}

/// Checks the installation's anchors in counter order: each signed by `public_key`, counters 1, 2,
/// 3, … and each linked to the previous anchor hash.
pub fn verify_anchors(anchors: &[StoredAnchor], public_key: &[u8]) -> Result<VerifiedAnchors, AnchorBreak> {
    verify_run(anchors, public_key, 1, GENESIS.to_owned())
}

/// Checks the anchors from the checkpoint's on, as opening the installation does, without reading
/// the (many) older ones: `anchors` (counter order, none below the checkpoint's) must start with
/// the checkpoint's own anchor, whose anchor hash must be the one the checkpoint recorded — the
/// checkpoint vouches for it, as it was signed and verified when it was checkpointed — and every
/// newer one (a crash between its commit and the checkpoint's move) is checked as
/// [`verify_anchors`] checks it. Returns the newest anchor, or `None` when the database does not
/// hold the checkpoint's anchor (rolled back, or cut). The whole chain is checked by the
/// installation's trail verification.
pub fn verify_anchors_since(
    anchors: &[StoredAnchor],
    checkpoint: &TrailCheckpoint,
    public_key: &[u8],
) -> Result<Option<TrailCheckpoint>, AnchorBreak> {
    let Some((held, newer)) = anchors.split_first() else { return Ok(None) };
    if held.counter != checkpoint.counter {
        return Ok(None);
    }
    let hash = anchor_hash_of(&held.envelope.payload).map_err(|e| AnchorBreak::malformed(held.counter, e))?;
    if hash != checkpoint.anchor_hash {
        return Ok(None);
    }
    let verified = verify_run(newer, public_key, held.counter + 1, hash)?;
    Ok(Some(verified.latest().unwrap_or_else(|| checkpoint.clone())))
}

/// Checks `anchors` as the run of counters `first`, `first + 1`, … whose first links to `prev`.
fn verify_run(
    anchors: &[StoredAnchor],
    public_key: &[u8],
    first: u64,
    mut prev: String,
) -> Result<VerifiedAnchors, AnchorBreak> {
    let mut verified = VerifiedAnchors::default();
    for (index, anchor) in anchors.iter().enumerate() {
        let expected = first + index as u64;
        let counter = anchor.counter;
        if counter != expected {
            return Err(AnchorBreak::Sequence { counter, expected });
        }
        anchor.envelope.verify(public_key).map_err(|_| AnchorBreak::Signature { counter })?;
        let statement: TrailHeadStatement = serde_json::from_value(anchor.envelope.payload.clone())
            .map_err(|e| AnchorBreak::malformed(counter, e))?;
        if statement.statement != TRAIL_HEAD_TYPE || statement.v != TRAIL_HEAD_VERSION {
            return Err(AnchorBreak::malformed(counter, "not a version 1 trail head statement"));
        }
        if statement.counter != counter {
            return Err(AnchorBreak::malformed(counter, "the signed counter differs from the stored one"));
        }
        if statement.prev_anchor != prev {
            return Err(AnchorBreak::Link { counter });
        }
        let hash =
            anchor_hash_of(&anchor.envelope.payload).map_err(|e| AnchorBreak::malformed(counter, e))?;
        prev = hash.clone();
        verified.statements.push((statement, hash));
    }
    Ok(verified)
}

/// Whether a stream's entries still hold what its newest anchor signed: the anchored event exists
/// with the signed hash, and as many `evidence.sealed` events precede it as were signed.
pub fn stream_holds(anchor: &TrailHeadStatement, entries: &[TrailEntry]) -> Result<(), StreamCut> {
    let present = entries.last().map_or(0, |e| e.seq);
    let Some(anchored) = usize::try_from(anchor.seq - 1).ok().and_then(|i| entries.get(i)) else {
        return Err(StreamCut::Truncated { anchored_seq: anchor.seq, present_seq: present });
    };
    if anchored.hash != anchor.head {
        return Err(StreamCut::Rewritten { anchored_seq: anchor.seq });
    }
    let sealed = evidence_sealed_up_to(entries, anchor.seq);
    if sealed != anchor.evidence_sealed {
        return Err(StreamCut::EvidenceCount { signed: anchor.evidence_sealed, present: sealed });
    }
    Ok(())
}

/// How a stream fails its anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamCut {
    /// The anchored event is gone: the stream ends at `present_seq` (0: the stream is gone).
    Truncated { anchored_seq: i64, present_seq: i64 },
    /// The event at the anchored position is not the one signed.
    Rewritten { anchored_seq: i64 },
    /// The signed number of sealed items differs from the trail's.
    EvidenceCount { signed: u64, present: u64 },
}

/// Counts `evidence.sealed` events with `seq <= up_to`.
pub fn evidence_sealed_up_to(entries: &[TrailEntry], up_to: i64) -> u64 {
    entries.iter().filter(|e| e.seq <= up_to && e.kind == "evidence.sealed").count() as u64
}

/// The inspection state the trail says at `up_to`: the `to` of the newest transition event there.
pub fn state_up_to(entries: &[TrailEntry], up_to: i64) -> Option<String> {
    entries
        .iter()
        .filter(|e| e.seq <= up_to)
        .rev()
        .find_map(|e| e.payload.get("to").and_then(|t| t.as_str()).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::signer::SoftwareSigner;

    fn statement(counter: u64, prev: &str) -> TrailHeadStatement {
        TrailHeadStatement {
            statement: TRAIL_HEAD_TYPE.into(),
            v: TRAIL_HEAD_VERSION,
            counter,
            prev_anchor: prev.into(),
            stream: "inspection:A".into(),
            seq: counter as i64,
            head: format!("{counter:064x}"),
            state: Some("on_site".into()),
            evidence_sealed: 0,
            at: "2026-12-01T02:30:00.000Z".into(),
        }
    }

    fn sealed(s: &TrailHeadStatement, signer: &SoftwareSigner) -> StoredAnchor {
        StoredAnchor {
            counter: s.counter,
            envelope: SignedEnvelope::seal(&serde_json::to_value(s).unwrap(), signer).unwrap(),
        }
    }

    fn three(signer: &SoftwareSigner) -> Vec<StoredAnchor> {
        let one = statement(1, GENESIS);
        let two = statement(2, &one.anchor_hash().unwrap());
        let three = statement(3, &two.anchor_hash().unwrap());
        [one, two, three].iter().map(|s| sealed(s, signer)).collect()
    }

    #[test]
    fn anchors_chain_and_name_their_latest() {
        let signer = SoftwareSigner::fixed_for_tests();
        let public = crate::crypto::DeviceSigner::public_key(&signer).unwrap();
        let anchors = three(&signer);
        let verified = verify_anchors(&anchors, &public).unwrap();
        let latest = verified.latest().unwrap();
        assert_eq!(latest.counter, 3);
        assert_eq!(verified.hash_at(3), Some(latest.anchor_hash.as_str()));
        assert_eq!(latest.anchor_hash, statement(3, verified.hash_at(2).unwrap()).anchor_hash().unwrap());
    }

    #[test]
    fn a_dropped_relinked_or_foreign_anchor_is_named() {
        let signer = SoftwareSigner::fixed_for_tests();
        let public = crate::crypto::DeviceSigner::public_key(&signer).unwrap();
        let anchors = three(&signer);
        let dropped = vec![anchors[0].clone(), anchors[2].clone()];
        assert_eq!(verify_anchors(&dropped, &public), Err(AnchorBreak::Sequence { counter: 3, expected: 2 }));
        let mut relinked = anchors.clone();
        relinked[1] = sealed(&statement(2, GENESIS), &signer);
        assert_eq!(verify_anchors(&relinked, &public), Err(AnchorBreak::Link { counter: 2 }));
        let other = SoftwareSigner::ephemeral().unwrap();
        let mut foreign = anchors;
        foreign[0] = sealed(&statement(1, GENESIS), &other);
        assert_eq!(verify_anchors(&foreign, &public), Err(AnchorBreak::Signature { counter: 1 }));
    }
}

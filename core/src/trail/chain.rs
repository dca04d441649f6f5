//! The event hash and the chain check: the part of the trail a third party re-implements.
//!
//! **Format v2** (every new event). The hash of an event is
//!
//! ```text
//! hex(SHA-256( "fieldseal-trail-v2\n" ‖ JCS({"v":2,"stream":…,"seq":…,"at":…,"kind":…,
//!                                            "payload":…,"prev_hash":…,"salt":…}) ))
//! ```
//!
//! where JCS is RFC 8785 canonical JSON ([`crate::protocol::canonicalize`]) and `salt` is 32 random
//! bytes in lowercase hex, fresh for every event. The salt is sealed in the database and carried in
//! plaintext in an exported bundle: with the bundle anyone can recompute every hash from the spec,
//! while a database file alone confirms nothing about a guessed payload (an answer "合格" cannot be
//! tested against a stored hash without the salt, which only the data key opens).
//!
//! **Format v1** (events written before v2 existed) hashed length-prefixed fields under
//! `"fieldseal-trail-v1"`; it is still verified so old stores keep verifying, never written.
//!
//! [`event_hash`] is the one function computing an event's hash and [`verify_chain`] the one check of
//! a sequence of entries; the store, the bundle verifier and intake all call these two, and head
//! signing builds on the head they establish.

use ring::digest;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    crypto::column::hex,
    protocol::{ProtocolError, canonicalize},
};

/// The hash that precedes the first event of every stream.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The format every new event is written in.
pub const TRAIL_FORMAT: u32 = 2;

const DOMAIN_V1: &[u8] = b"fieldseal-trail-v1";
const DOMAIN_V2: &[u8] = b"fieldseal-trail-v2\n";

/// An event as stored in the chain and exported in a bundle (`trail/inspection.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailEntry {
    /// The event's format version: 2 for new events, 1 for events written before salts existed.
    pub v: u32,
    pub stream: String,
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub prev_hash: String,
    /// 32 random bytes, lowercase hex (v2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    pub hash: String,
}

/// Why a chain does not verify, naming the event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event {seq}: sequence number out of order (expected {expected})")]
    Sequence { seq: i64, expected: i64 },
    #[error("event {seq}: belongs to stream {found}, not {expected}")]
    Stream { seq: i64, expected: String, found: String },
    #[error("event {seq}: does not link to the previous event")]
    Link { seq: i64 },
    #[error("event {seq}: content does not match its hash")]
    Hash { seq: i64 },
    #[error("event {seq}: {reason}")]
    Malformed { seq: i64, reason: String },
}

impl ChainBreak {
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::Sequence { seq, .. }
            | ChainBreak::Stream { seq, .. }
            | ChainBreak::Link { seq }
            | ChainBreak::Hash { seq }
            | ChainBreak::Malformed { seq, .. } => *seq,
        }
    }
}

/// The hash of one event in its own format. Fails only when the entry cannot be hashed at all (a
/// v2 entry without a salt, a payload number with no canonical form, an unknown format).
pub fn event_hash(entry: &TrailEntry) -> Result<String, ChainBreak> {
    let malformed = |reason: String| ChainBreak::Malformed { seq: entry.seq, reason };
    match entry.v {
        1 => {
            let payload = serde_json::to_vec(&entry.payload).map_err(|e| malformed(e.to_string()))?;
            Ok(hash_v1(&entry.stream, entry.seq, &entry.at, &entry.kind, &payload, &entry.prev_hash))
        }
        2 => {
            let salt = entry.salt.as_deref().ok_or_else(|| malformed("a v2 event needs its salt".into()))?;
            if salt.len() != 64 || !salt.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(malformed("the salt is not 32 bytes of lowercase hex".into()));
            }
            let input = hash_input_v2(entry, salt).map_err(|e| malformed(e.to_string()))?;
            Ok(hex(digest::digest(&digest::SHA256, &input).as_ref()))
        }
        other => Err(malformed(format!("unknown trail format {other}"))),
    }
}

/// The exact bytes a v2 event hash is taken over (published in the spec's test vector).
pub fn hash_input_v2(entry: &TrailEntry, salt: &str) -> Result<Vec<u8>, ProtocolError> {
    let object = json!({
        "v": 2,
        "stream": entry.stream,
        "seq": entry.seq,
        "at": entry.at,
        "kind": entry.kind,
        "payload": entry.payload,
        "prev_hash": entry.prev_hash,
        "salt": salt,
    });
    let canonical = canonicalize(&object)?;
    let mut input = Vec::with_capacity(DOMAIN_V2.len() + canonical.len());
    input.extend_from_slice(DOMAIN_V2);
    input.extend_from_slice(canonical.as_bytes());
    Ok(input)
}

/// Checks a whole stream from its first event: contiguous sequence numbers from 1, one stream,
/// each event linked to the previous hash (the first to [`GENESIS`]), each hash recomputed.
/// Returns the head `(seq, hash)`, or `None` for an empty stream.
pub fn verify_chain(stream: &str, entries: &[TrailEntry]) -> Result<Option<(i64, String)>, ChainBreak> {
    let mut expected_prev = GENESIS.to_owned();
    for (index, entry) in entries.iter().enumerate() {
        let expected = index as i64 + 1;
        if entry.seq != expected {
            return Err(ChainBreak::Sequence { seq: entry.seq, expected });
        }
        if entry.stream != stream {
            return Err(ChainBreak::Stream {
                seq: entry.seq,
                expected: stream.to_owned(),
                found: entry.stream.clone(),
            });
        }
        if entry.prev_hash != expected_prev {
            return Err(ChainBreak::Link { seq: entry.seq });
        }
        if event_hash(entry)? != entry.hash {
            return Err(ChainBreak::Hash { seq: entry.seq });
        }
        expected_prev = entry.hash.clone();
    }
    Ok(entries.last().map(|e| (e.seq, e.hash.clone())))
}

fn hash_v1(stream: &str, seq: i64, at: &str, kind: &str, payload: &[u8], prev_hash: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(DOMAIN_V1);
    let seq = seq.to_string();
    for field in
        [stream.as_bytes(), seq.as_bytes(), at.as_bytes(), kind.as_bytes(), payload, prev_hash.as_bytes()]
    {
        ctx.update(&(field.len() as u64).to_be_bytes());
        ctx.update(field);
    }
    hex(ctx.finish().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, prev: &str, salt: &str) -> TrailEntry {
        let mut e = TrailEntry {
            v: 2,
            stream: "inspection:A".into(),
            seq,
            at: "2026-12-01T02:30:00.000Z".into(),
            kind: "inspection.answer_set".into(),
            payload: json!({"item": "i1", "value": {"type": "result", "code": "pass"}, "accuracy_m": 4.5}),
            prev_hash: prev.into(),
            salt: Some(salt.into()),
            hash: String::new(),
        };
        e.hash = event_hash(&e).unwrap();
        e
    }

    /// The pinned vector of `docs/formats/trail.md`: changing the format means a new version.
    #[test]
    fn v2_event_hash_matches_the_published_vector() {
        let e = entry(1, GENESIS, &"ab".repeat(32));
        let input = hash_input_v2(&e, e.salt.as_deref().unwrap()).unwrap();
        let text = String::from_utf8(input).unwrap();
        assert_eq!(
            text,
            "fieldseal-trail-v2\n{\"at\":\"2026-12-01T02:30:00.000Z\",\"kind\":\"inspection.answer_set\",\
             \"payload\":{\"accuracy_m\":4.5,\"item\":\"i1\",\"value\":{\"code\":\"pass\",\"type\":\"result\"}},\
             \"prev_hash\":\"0000000000000000000000000000000000000000000000000000000000000000\",\
             \"salt\":\"abababababababababababababababababababababababababababababababab\",\
             \"seq\":1,\"stream\":\"inspection:A\",\"v\":2}"
        );
        assert_eq!(e.hash, include_str!("../../tests/vectors/trail-v2-event.sha256").trim());
    }

    #[test]
    fn the_salt_is_inside_the_hash() {
        let a = entry(1, GENESIS, &"ab".repeat(32));
        let b = entry(1, GENESIS, &"cd".repeat(32));
        assert_ne!(a.hash, b.hash);
        let mut unsalted = a.clone();
        unsalted.salt = None;
        assert!(matches!(event_hash(&unsalted), Err(ChainBreak::Malformed { .. })));
    }

    #[test]
    fn every_kind_of_break_is_named_with_its_event() {
        let one = entry(1, GENESIS, &"01".repeat(32));
        let two = entry(2, &one.hash, &"02".repeat(32));
        let three = entry(3, &two.hash, &"03".repeat(32));
        let good = vec![one.clone(), two.clone(), three.clone()];
        assert_eq!(verify_chain("inspection:A", &good).unwrap(), Some((3, three.hash.clone())));

        let mut edited = good.clone();
        edited[1].payload["item"] = json!("i2");
        assert_eq!(verify_chain("inspection:A", &edited), Err(ChainBreak::Hash { seq: 2 }));
        let dropped = vec![one.clone(), three.clone()];
        assert!(matches!(verify_chain("inspection:A", &dropped), Err(ChainBreak::Sequence { seq: 3, .. })));
        let mut relinked = good.clone();
        relinked[2].prev_hash = one.hash.clone();
        assert_eq!(verify_chain("inspection:A", &relinked), Err(ChainBreak::Link { seq: 3 }));
        assert!(matches!(verify_chain("inspection:B", &good), Err(ChainBreak::Stream { seq: 1, .. })));
        let mut resalted = good;
        resalted[0].salt = Some("ff".repeat(32));
        assert_eq!(verify_chain("inspection:A", &resalted), Err(ChainBreak::Hash { seq: 1 }));
    }
}

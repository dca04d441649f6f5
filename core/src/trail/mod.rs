//! 全过程记录 — the hash-chained audit trail.
//!
//! Each stream (`inspection:<id>`, `device`) is an append-only chain: event `n` names the hash of
//! event `n - 1`, and its own hash covers everything about it. Editing, deleting or reordering any
//! event breaks every hash after it, and the database refuses UPDATE and DELETE outright.
//!
//! - [`chain`]: the event hash (format v2: RFC 8785 canonical JSON with a per-event salt) and
//!   [`chain::verify_chain`], the pure check anyone can run over exported entries.
//! - [`crate::store::trail`] (persistence lives with the store): appending inside the caller's
//!   transaction, reading and verifying a stored stream.
//! - [`anchor`]: signed heads and the checkpoint outside the database, which make a cut tail, a
//!   deleted stream or a restored older database show; [`crate::store::anchors`] stores them and
//!   `crate::installation` signs them and checks the whole installation.
//!
//! The format is specified for third parties in `docs/formats/trail.md`.

pub mod anchor;
pub mod chain;

pub use chain::{ChainBreak, GENESIS, TRAIL_FORMAT, TrailEntry, event_hash, verify_chain};

pub use crate::event::DomainEvent;
use serde::Serialize;

/// 全过程记录事件 — one event of a trail as a screen lists it, after its link was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TrailEvent {
    pub seq: i64,
    /// RFC 3339, when it was appended.
    pub at: String,
    /// e.g. `inspection.answer_set`.
    pub kind: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<TrailEntry> for TrailEvent {
    fn from(e: TrailEntry) -> Self {
        TrailEvent { seq: e.seq, at: e.at, kind: e.kind, prev_hash: e.prev_hash, hash: e.hash }
    }
}

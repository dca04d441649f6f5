//! 上传状态 — the outbox read model: each row with its state and bytes, and the totals, read from
//! the store alone (no network). Bytes done are the offsets the server last reported (the driver
//! records each one), so a bar never runs ahead of what intake holds.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::{
    Result,
    outbox::{self, NetworkPolicy, OutboxItem, OutboxKind, WedgedReason},
    protocol::trail_head::parse_trail_head_id,
    store::{Keyring, StoreError},
};

/// Where one upload stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SyncItemState {
    /// Waiting: for its retry time (`next_attempt_at`, RFC 3339), its dependencies, or a network.
    Pending { bytes_done: u64, bytes_total: Option<u64>, next_attempt_at: String },
    /// Being sent by the pass running now.
    Uploading { bytes_done: u64, bytes_total: Option<u64> },
    /// 已回执 — intake's receipt naming the same hash was verified and kept.
    Acknowledged,
    /// Stopped until a person acts: retry after resolving the reason, or discard.
    Wedged { reason: WedgedReason },
    /// 放弃上传 — a person decided it is not sent; the evidence stays on the device.
    Discarded { reason: String, by: String, at: String },
}

/// One outbox row for the upload screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncItem {
    /// The handle for `retry` and `discard`.
    pub item_id: i64,
    pub kind: OutboxKind,
    /// The evidence, record or trail head it sends.
    pub object_id: String,
    pub inspection_id: Option<String>,
    pub state: SyncItemState,
    /// Failed attempts since the last success or retry.
    pub attempts: u32,
    /// The stable code of the last transient failure, for the detail screen.
    pub last_error: Option<String>,
}

/// 上传状态 — the outbox as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncStatus {
    pub enrolled: bool,
    pub device_id: Option<String>,
    pub intake_url: Option<String>,
    /// A pass is running now.
    pub syncing: bool,
    pub pending: u64,
    pub uploading: u64,
    pub acknowledged: u64,
    pub wedged: u64,
    pub discarded: u64,
    /// Evidence bytes intake holds, over every evidence row not discarded.
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Server clock minus device clock, when measured.
    pub clock_offset_ms: Option<i64>,
    pub items: Vec<SyncItem>,
}

/// Rows by state, discarded rows apart from wedged ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub pending: u64,
    pub in_flight: u64,
    pub acknowledged: u64,
    pub wedged: u64,
    pub discarded: u64,
}

/// What the scheduler needs after a pass.
pub(super) struct Plan {
    pub counts: Counts,
    /// The earliest retry time still ahead.
    pub next_retry: Option<DateTime<Utc>>,
    /// Remaining rows the network policy holds back for their size.
    pub waiting_for_unmetered: u64,
}

struct Discard {
    reason: String,
    by: String,
    at: String,
}

struct EvidenceFacts {
    inspection_id: String,
    size: u64,
}

fn corrupt(what: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt { what: what.into(), reason: reason.to_string() }
}

pub(super) const DISCARD_REASON_CONTEXT: &str = "outbox_discarded.reason";
pub(super) const DISCARD_BY_CONTEXT: &str = "outbox_discarded.by";

/// Discarded rows with their reasons opened (only the read model and the decision see them).
fn discards(conn: &Connection, keys: &Keyring) -> Result<HashMap<i64, Discard>> {
    let mut stmt = conn
        .prepare("SELECT outbox_id, reason_enc, by_enc, discarded_at FROM outbox_discarded")
        .map_err(StoreError::sql("read discarded uploads"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(StoreError::sql("read discarded uploads"))?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, reason, by, at) = row.map_err(StoreError::sql("read discarded uploads"))?;
        let context = |base: &str| format!("{base}:{id}");
        out.insert(
            id,
            Discard {
                reason: keys.column.open_string(&context(DISCARD_REASON_CONTEXT), &reason)?,
                by: keys.column.open_string(&context(DISCARD_BY_CONTEXT), &by)?,
                at,
            },
        );
    }
    Ok(out)
}

pub(super) fn discarded_ids(conn: &Connection) -> Result<Vec<i64>> {
    let mut stmt = conn
        .prepare("SELECT outbox_id FROM outbox_discarded")
        .map_err(StoreError::sql("read discarded uploads"))?;
    let ids = stmt.query_map([], |r| r.get(0)).map_err(StoreError::sql("read discarded uploads"))?;
    Ok(ids.collect::<rusqlite::Result<_>>().map_err(StoreError::sql("read discarded uploads"))?)
}

/// Every evidence row's inspection and size, without opening manifests. With `keys`, the exact
/// size (sealed in `size_enc`); without, the plain `size` column, which since migration 10 is the
/// size class (docs/decisions/0011): an upper bound, enough to plan against a metered network.
fn evidence_facts(conn: &Connection, keys: Option<&Keyring>) -> Result<HashMap<String, EvidenceFacts>> {
    let mut stmt = conn
        .prepare("SELECT id, inspection_id, size, size_enc FROM evidence")
        .map_err(StoreError::sql("read evidence"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })
        .map_err(StoreError::sql("read evidence"))?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, inspection_id, size, size_enc) = row.map_err(StoreError::sql("read evidence"))?;
        let size = match keys {
            Some(keys) => crate::store::evidence::exact_size(keys, &id, size, size_enc.as_deref())?,
            None => u64::try_from(size).map_err(|_| corrupt("evidence size", size))?,
        };
        out.insert(id, EvidenceFacts { inspection_id, size });
    }
    Ok(out)
}

/// The inspection a row belongs to, when the store knows it: an evidence item's or a record's
/// row, a trail head's stream (`inspection:<id>@<seq>`).
pub(super) fn inspection_of(conn: &Connection, item: &OutboxItem) -> Result<Option<String>> {
    let table = match item.kind {
        OutboxKind::Evidence => "SELECT inspection_id FROM evidence WHERE id = ?1",
        OutboxKind::Record => "SELECT inspection_id FROM records WHERE id = ?1",
        OutboxKind::TrailHead => {
            return Ok(parse_trail_head_id(&item.object_id)
                .and_then(|(stream, _)| stream.strip_prefix("inspection:"))
                .map(str::to_owned));
        }
    };
    Ok(conn
        .query_row(table, [&item.object_id], |r| r.get(0))
        .optional()
        .map_err(StoreError::sql("read the inspection of an upload"))?)
}

fn count(items: &[OutboxItem], discarded: &[i64]) -> Counts {
    let mut counts = Counts::default();
    for item in items {
        let slot = match item.state.as_str() {
            _ if discarded.contains(&item.id) => &mut counts.discarded,
            "pending" => &mut counts.pending,
            "in_flight" => &mut counts.in_flight,
            "acknowledged" => &mut counts.acknowledged,
            _ => &mut counts.wedged,
        };
        *slot += 1;
    }
    counts
}

pub(super) fn counts(conn: &Connection) -> Result<Counts> {
    Ok(count(&outbox::all(conn)?, &discarded_ids(conn)?))
}

fn parse_time(what: &str, text: &str) -> Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(text).map_err(|e| corrupt(what, e))?.with_timezone(&Utc))
}

pub(super) fn plan(conn: &Connection, network: &NetworkPolicy) -> Result<Plan> {
    let items = outbox::all(conn)?;
    let discarded = discarded_ids(conn)?;
    let facts = evidence_facts(conn, None)?;
    let now = Utc::now();
    let mut next_retry: Option<DateTime<Utc>> = None;
    let mut waiting_for_unmetered = 0;
    for item in items.iter().filter(|i| matches!(i.state.as_str(), "pending" | "in_flight")) {
        let size = facts.get(&item.object_id).map(|f| f.size);
        if item.kind == OutboxKind::Evidence && size.is_some_and(|s| !network.allows(s)) {
            waiting_for_unmetered += 1;
            continue;
        }
        let at = parse_time("outbox retry time", &item.next_attempt_at)?;
        if at > now && next_retry.is_none_or(|n| at < n) {
            next_retry = Some(at);
        }
    }
    Ok(Plan { counts: count(&items, &discarded), next_retry, waiting_for_unmetered })
}

pub(super) fn read(conn: &Connection, keys: &Keyring, syncing: bool) -> Result<SyncStatus> {
    let items = outbox::all(conn)?;
    let discards = discards(conn, keys)?;
    let discarded: Vec<i64> = discards.keys().copied().collect();
    let facts = evidence_facts(conn, Some(keys))?;
    let enrolment = crate::sync::enrolment::load(conn, keys)?;
    let counts = count(&items, &discarded);
    let (mut bytes_done, mut bytes_total) = (0u64, 0u64);
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        let fact = facts.get(&item.object_id).filter(|_| item.kind == OutboxKind::Evidence);
        let total = fact.map(|f| f.size);
        // The server's offset, never more than the blob (a stale row cannot overfill the bar).
        let done = u64::try_from(item.resume_offset).unwrap_or(0).min(total.unwrap_or(u64::MAX));
        let state = if let Some(d) = discards.get(&item.id) {
            SyncItemState::Discarded { reason: d.reason.clone(), by: d.by.clone(), at: d.at.clone() }
        } else {
            match item.state.as_str() {
                "acknowledged" => SyncItemState::Acknowledged,
                "in_flight" if syncing => SyncItemState::Uploading { bytes_done: done, bytes_total: total },
                "pending" | "in_flight" => SyncItemState::Pending {
                    bytes_done: done,
                    bytes_total: total,
                    next_attempt_at: item.next_attempt_at.clone(),
                },
                _ => SyncItemState::Wedged {
                    reason: WedgedReason::parse(item.wedged_reason.as_deref().unwrap_or_default()),
                },
            }
        };
        if let Some(total) = total.filter(|_| !matches!(state, SyncItemState::Discarded { .. })) {
            bytes_total += total;
            bytes_done += if state == SyncItemState::Acknowledged { total } else { done };
        }
        rows.push(SyncItem {
            item_id: item.id,
            kind: item.kind,
            inspection_id: match fact {
                Some(f) => Some(f.inspection_id.clone()),
                None => inspection_of(conn, &item)?,
            },
            object_id: item.object_id,
            state,
            attempts: u32::try_from(item.attempts).unwrap_or(u32::MAX),
            last_error: item.last_error,
        });
    }
    Ok(SyncStatus {
        enrolled: enrolment.is_some(),
        device_id: enrolment.as_ref().map(|e| e.device_id.clone()),
        intake_url: enrolment.as_ref().map(|e| e.base_url.clone()),
        syncing,
        pending: counts.pending + if syncing { 0 } else { counts.in_flight },
        uploading: if syncing { counts.in_flight } else { 0 },
        acknowledged: counts.acknowledged,
        wedged: counts.wedged,
        discarded: counts.discarded,
        bytes_done,
        bytes_total,
        clock_offset_ms: enrolment.and_then(|e| e.clock_offset_ms),
        items: rows,
    })
}

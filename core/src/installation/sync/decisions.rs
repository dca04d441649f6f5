//! A person's decisions about an upload that stopped (wedged): try again once the reason is
//! resolved, or 放弃上传 — discard it with a reason. A discard deletes nothing: the evidence stays
//! sealed in the vault and in every export; the row only leaves the work list, and the decision
//! (who, why, which upload, why it had stopped) is appended to the trail in the same transaction.

use rusqlite::{Transaction, params};
use serde_json::json;

use super::{
    SyncEngine, SyncEngineError,
    status::{self, DISCARD_BY_CONTEXT, DISCARD_REASON_CONTEXT},
};
use crate::{
    Result,
    event::DomainEvent,
    outbox::{self, OutboxItem, WedgedReason},
    store::{Keyring, StoreError, now_timestamp, trail},
};

/// The wedged row `item_id`, or why a decision about it is refused.
fn wedged_row(tx: &Transaction<'_>, item_id: i64) -> Result<OutboxItem> {
    let item = outbox::all(tx)?
        .into_iter()
        .find(|i| i.id == item_id)
        .ok_or(SyncEngineError::NoSuchItem { item_id })?;
    if status::discarded_ids(tx)?.contains(&item_id) {
        return Err(SyncEngineError::Discarded { item_id }.into());
    }
    if item.state != "wedged" {
        return Err(SyncEngineError::NotWedged { item_id, state: item.state }.into());
    }
    Ok(item)
}

/// Decisions are chained where a reviewer of the inspection will read them.
fn stream_of(tx: &Transaction<'_>, item: &OutboxItem) -> Result<String> {
    Ok(match status::inspection_of(tx, item)? {
        Some(inspection) => format!("inspection:{inspection}"),
        None => "device".to_owned(),
    })
}

fn decide(
    tx: &Transaction<'_>,
    keys: &Keyring,
    item: &OutboxItem,
    kind: &str,
    extra: serde_json::Value,
) -> Result<String> {
    let stopped = WedgedReason::parse(item.wedged_reason.as_deref().unwrap_or_default());
    let mut payload = json!({
        "outbox_kind": item.kind.as_str(),
        "object_id": item.object_id,
        "stopped_for": stopped.code,
    });
    if let (Some(payload), Some(extra)) = (payload.as_object_mut(), extra.as_object()) {
        payload.extend(extra.clone());
    }
    let event = DomainEvent::new(stream_of(tx, item)?, kind, payload);
    Ok(trail::append(tx, keys, &event)?.hash)
}

impl SyncEngine {
    /// Makes a wedged upload due again now, its attempts counted afresh (after the administrator
    /// resolved the reason). Recorded in the trail.
    pub fn retry(&self, item_id: i64) -> Result<()> {
        self.installation().store().write(|tx, keys| {
            let item = wedged_row(tx, item_id)?;
            decide(tx, keys, &item, "upload.retried", json!({}))?;
            outbox::retry_wedged(tx, item_id, chrono::Utc::now())
        })
    }

    /// 放弃上传 — the wedged upload `item_id` is never sent. Refused while another row waits for
    /// it (a record for its evidence): sending that record without its evidence would be worse.
    pub fn discard(&self, item_id: i64, reason: &str, by: &str) -> Result<()> {
        let (reason, by) = (reason.trim(), by.trim());
        if reason.is_empty() {
            return Err(SyncEngineError::ReasonMissing { field: "reason" }.into());
        }
        if by.is_empty() {
            return Err(SyncEngineError::ReasonMissing { field: "by" }.into());
        }
        self.installation().store().write(|tx, keys| {
            let item = wedged_row(tx, item_id)?;
            let discarded = status::discarded_ids(tx)?;
            let waiting = outbox::all(tx)?.into_iter().find(|other| {
                other.state != "acknowledged"
                    && !discarded.contains(&other.id)
                    && other.depends_on.contains(&item.object_id)
            });
            if let Some(other) = waiting {
                return Err(SyncEngineError::Needed { item_id, needed_by: other.object_id }.into());
            }
            let hash = decide(tx, keys, &item, "upload.discarded", json!({ "reason": reason, "by": by }))?;
            let context = |base: &str| format!("{base}:{item_id}");
            tx.execute(
                "INSERT INTO outbox_discarded (outbox_id, reason_enc, by_enc, discarded_at, trail_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    item_id,
                    keys.column.seal_str(&context(DISCARD_REASON_CONTEXT), reason)?,
                    keys.column.seal_str(&context(DISCARD_BY_CONTEXT), by)?,
                    now_timestamp(),
                    hash
                ],
            )
            .map_err(StoreError::sql("discard upload"))?;
            Ok(())
        })
    }
}

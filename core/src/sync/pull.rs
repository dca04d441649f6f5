//! 下行同步 — tasks, checklist templates, the register and revocations pulled from intake by
//! cursor and applied to the installation.
//!
//! Each page is applied in one transaction together with the cursor after it, so a cut between
//! pages repeats nothing and loses nothing: the next pull continues from the last page that
//! committed. Templates and the register are validated exactly as an import from a file is; a
//! pulled task becomes a draft inspection in the task list (once: a task already there is left as
//! the inspector has it). A revocation of this device's own key stops sync with
//! [`SyncError::DeviceRevoked`]; an item the terminal cannot accept stops it with
//! [`SyncError::PulledItemRefused`] and nothing of its page is applied.

use chrono::{DateTime, FixedOffset};
use rusqlite::Transaction;

use super::{IntakeClient, SyncError, enrolment};
use crate::{
    Result, checklist,
    crypto::{DeviceSigner, signer::key_id},
    id::new_id,
    model::{RegisterSnapshot, Task},
    protocol::pull::{PullItem, PullKind},
    store::{Keyring, Store, inspections as stored},
};

/// What one pull applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    /// Draft inspections created for newly assigned tasks.
    pub tasks: u64,
    pub templates: u64,
    pub registers: u64,
    /// Other devices' revocations seen.
    pub revocations: u64,
    /// The cursor now stored.
    pub cursor: String,
}

/// Pulls every page after the stored cursor and applies it; `at` stamps the inspections created.
pub async fn pull_all(
    store: &Store,
    client: &IntakeClient,
    signer: &dyn DeviceSigner,
    at: DateTime<FixedOffset>,
) -> Result<PullReport> {
    let enrolment = store.read(enrolment::load)?.ok_or(SyncError::NotEnrolled)?;
    client.set_device_id(&enrolment.device_id);
    let own_key = key_id(&signer.public_key()?)?;
    let mut report = PullReport { cursor: enrolment.pull_cursor.clone(), ..PullReport::default() };
    // Bounded: a feed that claims `more` forever is not followed forever.
    for _ in 0..10_000 {
        let page = client.pull(&report.cursor).await?;
        let mut applied = store.write(|tx, keys| {
            let mut applied = PullReport::default();
            for item in &page.items {
                apply(tx, keys, item, &own_key, at, &mut applied)?;
            }
            enrolment::set_pull_cursor(tx, &page.cursor)?;
            Ok(applied)
        })?;
        report.tasks += applied.tasks;
        report.templates += applied.templates;
        report.registers += applied.registers;
        report.revocations += applied.revocations;
        applied.cursor = page.cursor;
        report.cursor = applied.cursor;
        if !page.more || page.items.is_empty() {
            break;
        }
    }
    // The pages carried intake's clock too (`super::clock`).
    if let Some(sample) = client.clock_sample() {
        store.write(|tx, _| enrolment::record_clock(tx, sample))?;
    }
    Ok(report)
}

fn apply(
    tx: &Transaction<'_>,
    keys: &Keyring,
    item: &PullItem,
    own_key: &str,
    at: DateTime<FixedOffset>,
    report: &mut PullReport,
) -> Result<()> {
    let refused = |reason: String| SyncError::PulledItemRefused {
        kind: item.kind.as_str(),
        id: item.id.clone(),
        reason,
    };
    match item.kind {
        PullKind::Register => {
            let snapshot =
                RegisterSnapshot::from_json(&item.body.to_string()).map_err(|e| refused(e.to_string()))?;
            stored::save_register(tx, keys, &snapshot)?;
            report.registers += 1;
        }
        PullKind::Template => {
            let template =
                checklist::parse_template(&item.body.to_string()).map_err(|e| refused(e.to_string()))?;
            stored::save_template(tx, &template)?;
            report.templates += 1;
        }
        PullKind::Task => {
            let task: Task = serde_json::from_value(item.body.clone()).map_err(|e| refused(e.to_string()))?;
            let listed = stored::list_inspections(tx, keys)?;
            let known = listed.items.iter().any(|i| i.task().id == task.id);
            if !known {
                stored::create_inspection(tx, keys, &new_id()?, task, at)?;
                report.tasks += 1;
            }
        }
        PullKind::Revocation => {
            if item.body.get("key_id").and_then(|k| k.as_str()) == Some(own_key) {
                return Err(SyncError::DeviceRevoked.into());
            }
            report.revocations += 1;
        }
    }
    Ok(())
}

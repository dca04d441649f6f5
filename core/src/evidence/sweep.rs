//! 孤儿隔离 — evidence blobs no row names, set aside instead of destroyed.
//!
//! Ingest commits a blob to the vault, then its row, trail event and upload in one transaction. A
//! crash between the two leaves a blob no row names; so does an attacker who deletes a row, or
//! restores an older copy of the database. The first is harmless garbage, the other two destroy
//! sealed evidence if the app "cleans up". So nothing is deleted on sight:
//!
//! 1. Every `ev_` blob without a row is moved to `vault/quarantine/` (a rename: still ciphertext,
//!    still 0600 in a 0700 directory). A quarantined blob whose row is back (the right database
//!    copy was restored) returns to `vault/blobs/`.
//! 2. Each quarantined blob is cross-checked against the trail's `evidence.sealed` events and the
//!    outbox. If either knows the item, its row vanished: an integrity alarm
//!    ([`QuarantineReason::RowVanished`]) that stays until a person resolves it; the blob is kept
//!    forever.
//! 3. Only a blob *provably never committed* may go: no row, no trail event, no outbox entry, older
//!    than [`CRASH_WINDOW`], with every `evidence.sealed` payload readable, and a database the trail
//!    anchor vouches for (its signed head and the platform checkpoint agree; see
//!    [`crate::trail::anchor`]). Without that last condition an older database copy would make the
//!    newer captures look never committed. Its removal is recorded first, as an
//!    `evidence.orphan_removed` event on the `device` stream, then the file is deleted.
//!
//! Step 1 lists the vault only when something could have changed since the last sweep found it
//! clean: the blobs directory's last change (a blob added, removed or renamed changes it) and a keyed
//! fingerprint of the blob ids the database names are recorded in `vault-swept`; while both are the
//! same, the listing and the ids are too, so there is nothing new to quarantine (issue 8, cold open:
//! listing 10,000 blobs took most of the open). The quarantine itself is checked every time.
//!
//! Blob naming: `ev_<evidence id>` for the original, `ev_<evidence id>_thumb` for its thumbnail.

use std::{
    fs,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
use serde_json::json;

use super::EvidenceError;
use crate::{
    Result,
    outbox::{self, OutboxKind},
    private_file::{Existing, OwnerOnlyFile},
    store::{Store, evidence as rows, trail},
    trail::DomainEvent,
};

/// Vault blob ids of evidence: `ev_<id>` for the original, `ev_<id>_thumb` for its thumbnail (items
/// sealed before migration 10; newer thumbnails are sealed in the row). The prefix lets the orphan
/// sweep touch evidence blobs only.
const BLOB_PREFIX: &str = "ev_";
pub(super) const THUMBNAIL_SUFFIX: &str = "_thumb";

/// How long a blob without a row may be the half of a capture still committing (or one another
/// process is writing). Younger orphans are kept in quarantine whatever else is known.
pub const CRASH_WINDOW: Duration = Duration::from_secs(60 * 60);

/// The trail kind recording that a never-committed blob was removed.
pub const ORPHAN_REMOVED: &str = "evidence.orphan_removed";

/// The file in the data directory recording the vault listing the last sweep found clean.
pub const LISTING_RECORD: &str = "vault-swept";

/// How long ago the blobs directory must have last changed for its time to be recorded: file times
/// move in clock ticks, so a change within the same tick as the recorded one could leave the time
/// as it was. A directory changed more recently is listed again at the next open.
const LISTING_SETTLED: Duration = Duration::from_secs(2);

pub(crate) fn blob_id(evidence_id: &str) -> String {
    format!("{BLOB_PREFIX}{evidence_id}")
}

/// The evidence id a blob id belongs to, or `None` for a blob that is not evidence.
pub fn evidence_id_of_blob(blob_id: &str) -> Option<&str> {
    let rest = blob_id.strip_prefix(BLOB_PREFIX)?;
    Some(rest.strip_suffix(THUMBNAIL_SUFFIX).unwrap_or(rest)).filter(|id| !id.is_empty())
}

/// Why a blob sits in quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum QuarantineReason {
    /// 证据记录消失 — the trail or the outbox knows this item was sealed, but its row is gone:
    /// an integrity alarm, never garbage.
    RowVanished {
        known_to_trail: bool,
        known_to_outbox: bool,
        /// The inspection whose trail sealed it, when the trail knows it.
        inspection_id: Option<String>,
    },
    /// Written less than [`CRASH_WINDOW`] ago: possibly a capture still committing.
    WithinCrashWindow,
    /// Nothing names it, but the database cannot be shown to be the latest one (the trail anchor
    /// is weaker or disagrees, or an `evidence.sealed` event does not open): kept, because an
    /// older copy of the database would look exactly like this.
    NotProvablyUncommitted,
}

/// 隔离的证据文件 — one quarantined blob, as the integrity read model lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QuarantinedBlob {
    pub blob_id: String,
    pub evidence_id: String,
    /// Ciphertext bytes.
    pub size: u64,
    pub reason: QuarantineReason,
}

impl QuarantinedBlob {
    /// A sealed item's row vanished.
    pub fn is_alarm(&self) -> bool {
        matches!(self.reason, QuarantineReason::RowVanished { .. })
    }
}

/// What the sweep may conclude, decided by the caller at open.
#[derive(Debug, Clone, Copy)]
pub struct SweepPolicy {
    /// The trail anchor vouches that this database is the latest one (see [`crate::trail::anchor`]).
    pub database_vouched_for: bool,
    /// The file system's now (blob ages are file times).
    pub now: SystemTime,
}

/// What one sweep did and what the quarantine holds after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Everything in quarantine after the sweep, alarms first.
    pub quarantined: Vec<QuarantinedBlob>,
    /// Blobs moved into quarantine by this sweep.
    pub newly_quarantined: usize,
    /// Blobs returned to the vault because their row is back.
    pub released: usize,
    /// Blobs proven never committed and removed (each recorded on the `device` stream first).
    pub removed: Vec<String>,
}

/// Quarantines evidence blobs no row names, cross-checks the quarantine and removes only what is
/// provably never committed. Call once when the store opens, before any ingest can be running.
pub fn sweep_orphan_blobs(store: &Store, policy: SweepPolicy) -> Result<SweepOutcome> {
    let referenced = store.read(|conn, _| rows::referenced_blob_ids(conn))?;
    let fingerprint = store.keys().lookup.hash(
        "vault.referenced_blobs",
        &referenced.iter().map(String::as_str).collect::<Vec<_>>().join("\n"),
    );
    let record_path = store.dir().join(LISTING_RECORD);
    let recorded = fs::read_to_string(&record_path).ok();
    let mut outcome = SweepOutcome::default();
    if recorded.is_none() || recorded != Some(listing_record(store, &fingerprint)?) {
        for id in store.vault().blob_ids()? {
            if evidence_id_of_blob(&id).is_some() && !referenced.contains(&id) {
                store.vault().quarantine(&id)?;
                outcome.newly_quarantined += 1;
            }
        }
        record_listing(store, &fingerprint, policy.now)?;
    }
    for id in store.vault().quarantined_ids()? {
        if referenced.contains(&id) && !store.vault().contains(&id) {
            store.vault().release_from_quarantine(&id)?;
            outcome.released += 1;
        }
    }

    let mut removable = Vec::new();
    for blob in inspect_quarantine(store)? {
        let age = store
            .vault()
            .quarantined_metadata(&blob.blob_id)?
            .modified()
            .ok()
            .and_then(|m| policy.now.duration_since(m).ok());
        let reason = match blob.reason {
            QuarantineReason::NotProvablyUncommitted if policy.database_vouched_for => match age {
                Some(age) if age >= CRASH_WINDOW => {
                    removable.push(blob);
                    continue;
                }
                _ => QuarantineReason::WithinCrashWindow,
            },
            QuarantineReason::NotProvablyUncommitted if age.is_none_or(|a| a < CRASH_WINDOW) => {
                QuarantineReason::WithinCrashWindow
            }
            other => other,
        };
        outcome.quarantined.push(QuarantinedBlob { reason, ..blob });
    }

    if !removable.is_empty() {
        // The record of the removal commits before any file goes: a crash in between leaves a
        // recorded removal of a blob still present, which the next sweep records and removes again.
        store.write(|tx, keys| {
            for blob in &removable {
                let event = DomainEvent::new(
                    "device",
                    ORPHAN_REMOVED,
                    json!({
                        "blob_id": blob.blob_id,
                        "evidence_id": blob.evidence_id,
                        "size": blob.size,
                        "reason": "never_committed",
                        "crash_window_s": CRASH_WINDOW.as_secs(),
                    }),
                );
                trail::append(tx, keys, &event)?;
            }
            Ok(())
        })?;
        for blob in removable {
            store.vault().remove_quarantined(&blob.blob_id)?;
            outcome.removed.push(blob.blob_id);
        }
    }
    outcome.quarantined.sort_by_key(|b| (!b.is_alarm(), b.blob_id.clone()));
    Ok(outcome)
}

/// What [`LISTING_RECORD`] holds for the blobs directory as it is now and `fingerprint`.
fn listing_record(store: &Store, fingerprint: &str) -> Result<String> {
    let stamp = store.vault().blobs_listing_stamp()?;
    let nanos = stamp.modified.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    Ok(format!("v1 {} {} {nanos} {fingerprint}\n", stamp.device, stamp.inode))
}

/// Records the listing just found clean, when the directory's last change is settled; otherwise
/// removes any record, so the next open lists it again. The record is a cache: losing it (or
/// failing to write it) costs one listing, so it is written without fsync and a failure to write
/// it does not fail recovery.
fn record_listing(store: &Store, fingerprint: &str, now: SystemTime) -> Result<()> {
    let path = store.dir().join(LISTING_RECORD);
    let settled =
        store.vault().blobs_listing_stamp()?.modified.checked_add(LISTING_SETTLED).is_some_and(|t| t <= now);
    if !settled {
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(EvidenceError::storage(&path, e).into())
            }
            _ => Ok(()),
        };
    }
    let record = listing_record(store, fingerprint)?;
    let written = OwnerOnlyFile::create(&path).and_then(|mut file| {
        std::io::Write::write_all(&mut file, record.as_bytes())?;
        file.commit_disposable(Existing::Replace)
    });
    drop(written);
    Ok(())
}

/// The quarantine as it stands, each blob cross-checked against the trail and the outbox, without
/// moving anything. A blob nothing names is reported as [`QuarantineReason::NotProvablyUncommitted`]
/// (only the sweep, knowing the anchor and the blob's age, may conclude more).
pub fn inspect_quarantine(store: &Store) -> Result<Vec<QuarantinedBlob>> {
    let ids = store.vault().quarantined_ids()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sealed = store.read(trail::sealed_evidence)?;
    let mut out = Vec::with_capacity(ids.len());
    for blob_id in ids {
        let Some(evidence_id) = evidence_id_of_blob(&blob_id).map(str::to_owned) else { continue };
        let in_outbox =
            store.read(|conn, _| outbox::get(conn, OutboxKind::Evidence, &evidence_id))?.is_some();
        let stream = sealed.by_evidence.get(&evidence_id);
        let reason = if stream.is_some() || in_outbox {
            QuarantineReason::RowVanished {
                known_to_trail: stream.is_some(),
                known_to_outbox: in_outbox,
                inspection_id: stream.and_then(|s| s.strip_prefix("inspection:")).map(str::to_owned),
            }
        } else {
            QuarantineReason::NotProvablyUncommitted
        };
        let size = store.vault().quarantined_metadata(&blob_id)?.len();
        out.push(QuarantinedBlob { blob_id, evidence_id, size, reason });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_name_their_evidence() {
        assert_eq!(evidence_id_of_blob("ev_abc"), Some("abc"));
        assert_eq!(evidence_id_of_blob("ev_abc_thumb"), Some("abc"));
        assert_eq!(evidence_id_of_blob("record_page_1"), None);
        assert_eq!(evidence_id_of_blob("ev_"), None);
    }
}

//! 完整性 — anchoring the trail as the installation changes, and checking that the evidence, the
//! inspections' states, the trail and its anchors still agree.
//!
//! The design of the anchor (signed heads, their own counter chain, the checkpoint the platform
//! keeps outside SQLite) is in [`crate::trail::anchor`]; this module decides *when* a head is
//! signed and runs the installation-wide check:
//!
//! - a head is signed after an inspection is created, after each change of its state, after each
//!   sealed item, after freeze, and after recovery removed a never-committed blob (`device`
//!   stream). The anchor of an inspection's creation and state changes, of a freeze and of an
//!   export is signed in the change's own transaction ([`Installation::write_anchored`]): the two
//!   commit together. A sealed item is still anchored in a transaction of its own right after the
//!   ingest commits (the ingest pipeline owns its transaction); a crash in between leaves that
//!   capture unanchored until the next anchor of the stream.
//! - after each anchor commits, the checkpoint moves to it.
//! - [`Installation::verify_trail`] reports, as a typed read model, every disagreement it finds:
//!   a chain that does not verify, anchors that do not verify or no longer match the trail (a cut
//!   tail, a deleted stream), a database behind its checkpoint (restored from an older copy), an
//!   evidence set that differs from the trail's `evidence.sealed` events, an inspection whose
//!   stored state differs from its trail, and every quarantined blob whose row vanished.

use std::{collections::BTreeSet, sync::Arc};

use rusqlite::Transaction;

use serde::Serialize;

use super::Installation;
use crate::{
    Result,
    crypto::CheckpointStore,
    evidence::sweep::{self, QuarantineReason, QuarantinedBlob},
    store::{Keyring, Store, anchors, evidence as evidence_rows, inspections as stored, timestamp, trail},
    trail::{
        TrailEntry,
        anchor::{
            AnchorStrength, StreamCut, TrailCheckpoint, TrailHeadStatement, VerifiedAnchors, state_up_to,
            stream_holds, verify_anchors, verify_anchors_since,
        },
        verify_chain,
    },
};

/// What is wrong, typed so a screen can act on it; each comes with a message in Chinese and
/// English ([`IntegrityProblem`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum IntegrityProblemKind {
    /// A sealed item's row vanished: its blob is in quarantine and the trail or outbox knows it.
    EvidenceRowVanished { evidence_id: String, blob_id: String, inspection_id: Option<String> },
    /// The trail names a sealed item this inspection has no row for (and no quarantined blob).
    EvidenceMissing { inspection_id: String, evidence_id: String },
    /// An evidence row the trail never recorded sealing.
    EvidenceNotInTrail { inspection_id: String, evidence_id: String },
    /// An evidence row whose sealed original is not in the vault.
    EvidenceBlobMissing { inspection_id: String, evidence_id: String },
    /// A stream's hash chain does not verify.
    ChainBroken { stream: String, detail: String },
    /// A stream ends before the event its newest anchor signed (0: the stream is gone).
    StreamTruncated { stream: String, anchored_seq: i64, present_seq: i64 },
    /// An inspection has a row but no trail at all.
    StreamDeleted { stream: String },
    /// A stream no longer holds what was signed (another event at the anchored position, or
    /// another number of sealed items).
    StreamDisagreesWithAnchor { stream: String, detail: String },
    /// The signed heads themselves do not verify (signature, counter sequence, links).
    AnchorBroken { detail: String },
    /// The database's anchors end before the checkpoint kept outside it, or differ from it: an
    /// older copy of the database was put back, or its newest anchors were cut.
    RolledBack { checkpoint_counter: u64, database_counter: u64 },
    /// The platform's checkpoint could not be read or written.
    CheckpointUnavailable { detail: String },
    /// The stored inspection's state differs from what its trail (or its newest signed head) says.
    StateDisagrees { inspection_id: String, stored: String, trail: String },
    /// An inspection row that does not open (the list skips it; the check reports it).
    InspectionUnreadable { inspection_id: String },
    /// An anchor's countersignature slot holds something that is not intake's receipt for it under
    /// the enrolled intake key.
    CountersignatureRefused { counter: u64, detail: String },
}

/// One problem with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IntegrityProblem {
    pub kind: IntegrityProblemKind,
    pub message_zh: String,
    pub message_en: String,
}

/// 完整性核验 — the installation-wide trail check as a screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TrailVerification {
    /// No problem found. With [`AnchorStrength::SignedHeadsOnly`] this is weaker (see its message).
    pub all_good: bool,
    pub anchor_strength: AnchorStrength,
    pub anchor_message_zh: String,
    pub anchor_message_en: String,
    pub streams_checked: u64,
    pub anchors_checked: u64,
    /// Anchors whose countersignature by the province verified.
    pub anchors_countersigned: u64,
    pub problems: Vec<IntegrityProblem>,
    /// Everything in the vault's quarantine, alarms first.
    pub quarantined: Vec<QuarantinedBlob>,
}

/// Where the installation keeps its checkpoint, if the platform has somewhere.
#[derive(Clone, Default)]
pub(super) struct Anchoring {
    pub(super) checkpoint: Option<Arc<dyn CheckpointStore>>,
}

impl Anchoring {
    pub(super) fn strength(&self) -> AnchorStrength {
        if self.checkpoint.is_some() { AnchorStrength::Checkpointed } else { AnchorStrength::SignedHeadsOnly }
    }
}

/// How the database's anchors stand against the checkpoint, as decided at open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CheckpointStanding {
    /// The database holds the checkpoint's anchor (and possibly newer ones, now checkpointed).
    Agrees,
    /// No checkpoint storage on this platform.
    Unavailable,
    /// A problem to report (rolled back, unreadable, anchors that do not verify).
    Disagrees(IntegrityProblemKind),
}

/// Compares the database's anchors with the platform checkpoint, catching the checkpoint up when
/// the database is ahead (a crash after an anchor committed). Anchors are verified first: the
/// checkpoint never moves to an anchor the device did not sign.
pub(super) fn check_checkpoint(
    store: &Store,
    anchoring: &Anchoring,
    public_key: &[u8],
) -> Result<(CheckpointStanding, Option<VerifiedAnchors>)> {
    let stored = store.read(anchors::all)?;
    let verified = match verify_anchors(&stored, public_key) {
        Ok(v) => v,
        Err(e) => {
            return Ok((
                CheckpointStanding::Disagrees(IntegrityProblemKind::AnchorBroken { detail: e.to_string() }),
                None,
            ));
        }
    };
    let Some(slot) = &anchoring.checkpoint else {
        return Ok((CheckpointStanding::Unavailable, Some(verified)));
    };
    let kept = match slot.load() {
        Ok(kept) => kept,
        Err(e) => {
            let problem = IntegrityProblemKind::CheckpointUnavailable { detail: e.to_string() };
            return Ok((CheckpointStanding::Disagrees(problem), Some(verified)));
        }
    };
    let database = verified.latest();
    let standing = match (kept, database) {
        (None, None) => CheckpointStanding::Agrees,
        // A store anchored before this platform kept checkpoints (or the platform's storage was
        // reset): start the checkpoint here, but this open cannot vouch for the database.
        (None, Some(db)) => {
            advance(slot.as_ref(), &db)?;
            CheckpointStanding::Disagrees(IntegrityProblemKind::CheckpointUnavailable {
                detail: "no checkpoint was kept yet; one starts now".into(),
            })
        }
        (Some(cp), db) => {
            let database_counter = db.as_ref().map_or(0, |d| d.counter);
            if verified.hash_at(cp.counter) == Some(cp.anchor_hash.as_str()) {
                if let Some(db) = db.filter(|d| d.counter > cp.counter) {
                    advance(slot.as_ref(), &db)?;
                }
                CheckpointStanding::Agrees
            } else {
                CheckpointStanding::Disagrees(IntegrityProblemKind::RolledBack {
                    checkpoint_counter: cp.counter,
                    database_counter,
                })
            }
        }
    };
    Ok((standing, Some(verified)))
}

/// [`check_checkpoint`] as opening the installation runs it, in time that does not grow with the
/// trail: only the checkpoint's anchor and any newer ones are read and checked
/// ([`verify_anchors_since`]) together with the events they sign, and the counters are checked for
/// a gap (an older database copy with the newest anchor pasted in). Every open used to verify every signed head ever made, which
/// took most of a second with 1,000 inspections; the whole chain is still verified by
/// [`Installation::verify_trail`]. Without a checkpoint yet, the full check runs (once: it starts
/// the checkpoint).
pub(super) fn standing_at_open(
    store: &Store,
    anchoring: &Anchoring,
    public_key: &[u8],
) -> Result<CheckpointStanding> {
    let Some(slot) = &anchoring.checkpoint else { return Ok(CheckpointStanding::Unavailable) };
    let checkpoint = match slot.load() {
        Ok(Some(checkpoint)) => checkpoint,
        Ok(None) => return Ok(check_checkpoint(store, anchoring, public_key)?.0),
        Err(e) => {
            let problem = IntegrityProblemKind::CheckpointUnavailable { detail: e.to_string() };
            return Ok(CheckpointStanding::Disagrees(problem));
        }
    };
    let (count, highest) = store.read(|conn, _| anchors::counter_span(conn))?;
    let rolled_back = || {
        CheckpointStanding::Disagrees(IntegrityProblemKind::RolledBack {
            checkpoint_counter: checkpoint.counter,
            database_counter: highest,
        })
    };
    if highest < checkpoint.counter {
        return Ok(rolled_back());
    }
    if count != highest {
        let detail = format!("{count} anchors under counters up to {highest}: some are missing");
        return Ok(CheckpointStanding::Disagrees(IntegrityProblemKind::AnchorBroken { detail }));
    }
    let tail = store.read(|conn, keys| anchors::since(conn, keys, checkpoint.counter))?;
    let latest = match verify_anchors_since(&tail, &checkpoint, public_key) {
        Ok(None) => return Ok(rolled_back()),
        Ok(Some(latest)) => latest,
        Err(e) => {
            let problem = IntegrityProblemKind::AnchorBroken { detail: e.to_string() };
            return Ok(CheckpointStanding::Disagrees(problem));
        }
    };
    // The trail must still hold the events these anchors sign: an older copy of the database with
    // the newer anchors pasted in has anchors that verify, but not their events.
    for anchor in &tail {
        let statement: TrailHeadStatement = serde_json::from_value(anchor.envelope.payload.clone())
            .map_err(|e| crate::crypto::CryptoError::integrity(format!("trail head statement: {e}")))?;
        let held = store.read(|conn, _| trail::hash_at(conn, &statement.stream, statement.seq))?;
        if held.as_deref() != Some(statement.head.as_str()) {
            let detail =
                format!("event {} signed by anchor {} is not in the trail", statement.seq, anchor.counter);
            let problem =
                IntegrityProblemKind::StreamDisagreesWithAnchor { stream: statement.stream, detail };
            return Ok(CheckpointStanding::Disagrees(problem));
        }
    }
    if latest.counter > checkpoint.counter {
        advance(slot.as_ref(), &latest)?;
    }
    Ok(CheckpointStanding::Agrees)
}

fn advance(slot: &dyn CheckpointStore, to: &TrailCheckpoint) -> Result<()> {
    Ok(slot.store(to)?)
}

impl Installation {
    /// Runs `change` and, when `anchor` says so of its result, signs the head of `stream` in the
    /// same transaction, so a change and the anchor that signs it commit together or not at all (a
    /// change the device could not sign is not kept); then moves the checkpoint to the new anchor.
    pub(crate) fn write_anchored<T>(
        &self,
        stream: &str,
        change: impl FnOnce(&Transaction<'_>, &Keyring) -> Result<T>,
        anchor: impl FnOnce(&T) -> bool,
    ) -> Result<T> {
        let at = timestamp(self.now().with_timezone(&chrono::Utc));
        let signer = self.signer();
        let (value, anchored) = self.store().write(|tx, keys| {
            let value = change(tx, keys)?;
            let anchored =
                if anchor(&value) { anchors::sign_head(tx, keys, signer, stream, &at)? } else { None };
            Ok((value, anchored))
        })?;
        if let (Some(checkpoint), Some(slot)) = (anchored, &self.anchoring().checkpoint) {
            slot.store(&checkpoint)?;
        }
        Ok(value)
    }

    /// Signs the head of `stream` when it moved since that stream's newest anchor, then moves the
    /// checkpoint to it. A no-op for a stream without events or already anchored at its head.
    pub(crate) fn anchor_stream(&self, stream: &str) -> Result<()> {
        self.write_anchored(stream, |_, _| Ok(()), |_| true)
    }

    /// Anchors an inspection's stream (see [`Installation::anchor_stream`]).
    pub(crate) fn anchor_inspection(&self, inspection_id: &str) -> Result<()> {
        self.anchor_stream(&format!("inspection:{inspection_id}"))
    }

    /// How strongly the trail is anchored on this platform.
    pub fn anchor_strength(&self) -> AnchorStrength {
        self.anchoring().strength()
    }

    /// Moves the checkpoint to the database's newest anchor when that is ahead of it: after an
    /// operation that signed a head inside its own transaction (a bundle export).
    pub(crate) fn catch_up_checkpoint(&self) -> Result<()> {
        let Some(slot) = &self.anchoring().checkpoint else { return Ok(()) };
        let Some(latest) = self.store().read(|c, _| anchors::latest(c))? else { return Ok(()) };
        if slot.load()?.is_none_or(|kept| kept.counter < latest.counter) {
            slot.store(&latest)?;
        }
        Ok(())
    }

    /// Checks the whole installation: every stream's chain, the signed heads against the trail and
    /// the checkpoint, each inspection's evidence set and state against its trail, and the
    /// quarantine. Never fails on what it finds; a problem is a line in the report.
    pub fn verify_trail(&self) -> Result<TrailVerification> {
        let store = self.store();
        let public_key = self.device_public_key()?;
        let mut problems = Vec::new();

        let (standing, verified) = check_checkpoint(store, self.anchoring(), &public_key)?;
        if let CheckpointStanding::Disagrees(kind) = standing {
            problems.push(kind);
        }
        let verified = verified.unwrap_or_default();

        let quarantined = sweep::inspect_quarantine(store)?;
        let vanished: BTreeSet<String> = quarantined
            .iter()
            .filter(|b| matches!(b.reason, QuarantineReason::RowVanished { .. }))
            .map(|b| b.evidence_id.clone())
            .collect();
        for blob in quarantined.iter().filter(|b| b.is_alarm()) {
            let inspection_id = match &blob.reason {
                QuarantineReason::RowVanished { inspection_id, .. } => inspection_id.clone(),
                _ => None,
            };
            problems.push(IntegrityProblemKind::EvidenceRowVanished {
                evidence_id: blob.evidence_id.clone(),
                blob_id: blob.blob_id.clone(),
                inspection_id,
            });
        }

        let mut streams: BTreeSet<String> = store.read(|c, _| trail::streams(c))?.into_iter().collect();
        streams.extend(verified.statements.iter().map(|(s, _)| s.stream.clone()));
        let listed = store.read(stored::list_inspections)?;
        for row in &listed.unreadable {
            problems.push(IntegrityProblemKind::InspectionUnreadable { inspection_id: row.id.clone() });
        }
        streams.extend(listed.items.iter().map(|i| i.stream()));

        for stream in &streams {
            let entries = store.read(|c, k| trail::entries(c, k, stream))?;
            if let Err(e) = verify_chain(stream, &entries) {
                problems.push(IntegrityProblemKind::ChainBroken {
                    stream: stream.clone(),
                    detail: e.to_string(),
                });
                continue;
            }
            if let Some(anchor) = verified.latest_of(stream) {
                match stream_holds(anchor, &entries) {
                    Ok(()) => {
                        let trail_state = state_up_to(&entries, anchor.seq).unwrap_or_else(|| "draft".into());
                        if let (Some(signed), Some(id)) = (&anchor.state, stream.strip_prefix("inspection:"))
                            && *signed != trail_state
                        {
                            problems.push(IntegrityProblemKind::StateDisagrees {
                                inspection_id: id.to_owned(),
                                stored: signed.clone(),
                                trail: trail_state,
                            });
                        }
                    }
                    Err(StreamCut::Truncated { anchored_seq, present_seq }) => {
                        problems.push(IntegrityProblemKind::StreamTruncated {
                            stream: stream.clone(),
                            anchored_seq,
                            present_seq,
                        })
                    }
                    Err(cut) => problems.push(IntegrityProblemKind::StreamDisagreesWithAnchor {
                        stream: stream.clone(),
                        detail: format!("{cut:?}"),
                    }),
                }
            }
            let Some(inspection_id) = stream.strip_prefix("inspection:") else { continue };
            if let Some(inspection) = listed.items.iter().find(|i| i.id() == inspection_id) {
                if entries.is_empty() {
                    if verified.latest_of(stream).is_none() {
                        problems.push(IntegrityProblemKind::StreamDeleted { stream: stream.clone() });
                    }
                    continue;
                }
                let trail_state = state_up_to(&entries, i64::MAX).unwrap_or_else(|| "draft".into());
                if inspection.state().code() != trail_state {
                    problems.push(IntegrityProblemKind::StateDisagrees {
                        inspection_id: inspection_id.to_owned(),
                        stored: inspection.state().code().to_owned(),
                        trail: trail_state,
                    });
                }
            }
            check_evidence_set(store, inspection_id, &entries, &vanished, &mut problems)?;
        }

        let (countersigned, refused) = super::sync::countersigned::check(store, &verified)?;
        problems.extend(refused.into_iter().map(|r| IntegrityProblemKind::CountersignatureRefused {
            counter: r.counter,
            detail: r.reason.to_owned(),
        }));
        let strength = if countersigned > 0 { AnchorStrength::Countersigned } else { self.anchor_strength() };
        let problems: Vec<IntegrityProblem> = problems.into_iter().map(explain).collect();
        Ok(TrailVerification {
            all_good: problems.is_empty(),
            anchor_strength: strength,
            anchor_message_zh: strength.message_zh().to_owned(),
            anchor_message_en: strength.message_en().to_owned(),
            streams_checked: streams.len() as u64,
            anchors_checked: verified.statements.len() as u64,
            anchors_countersigned: countersigned,
            problems,
            quarantined,
        })
    }
}

/// The evidence the trail says was sealed in an inspection against its rows and their blobs.
fn check_evidence_set(
    store: &Store,
    inspection_id: &str,
    entries: &[TrailEntry],
    vanished: &BTreeSet<String>,
    problems: &mut Vec<IntegrityProblemKind>,
) -> Result<()> {
    let in_trail: BTreeSet<String> = entries
        .iter()
        .filter(|e| e.kind == "evidence.sealed")
        .filter_map(|e| e.payload.get("evidence_id")?.as_str().map(str::to_owned))
        .collect();
    let rows = store.read(|c, _| evidence_rows::blobs_of_inspection(c, inspection_id))?;
    let row_ids: BTreeSet<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    for id in &in_trail {
        // A vanished row is already reported with its quarantined blob.
        if !row_ids.contains(id.as_str()) && !vanished.contains(id) {
            problems.push(IntegrityProblemKind::EvidenceMissing {
                inspection_id: inspection_id.to_owned(),
                evidence_id: id.clone(),
            });
        }
    }
    for (id, blob) in &rows {
        if !in_trail.contains(id) {
            problems.push(IntegrityProblemKind::EvidenceNotInTrail {
                inspection_id: inspection_id.to_owned(),
                evidence_id: id.clone(),
            });
        }
        // An original released under the retention rule (after intake's verified receipt) left
        // the vault on purpose, with its own trail event.
        if !store.vault().contains(blob) && !store.read(|c, _| crate::sync::release::is_released(c, id))? {
            problems.push(IntegrityProblemKind::EvidenceBlobMissing {
                inspection_id: inspection_id.to_owned(),
                evidence_id: id.clone(),
            });
        }
    }
    Ok(())
}

fn explain(kind: IntegrityProblemKind) -> IntegrityProblem {
    use IntegrityProblemKind as K;
    let (zh, en) = match &kind {
        K::EvidenceRowVanished { evidence_id, .. } => (
            format!("证据 {evidence_id} 的记录从数据库中消失，但全过程记录或上传队列表明它已封存。加密原件已隔离保存，请勿删除应用数据，并联系管理员核查。"),
            format!("The database row of sealed evidence {evidence_id} has vanished, though the trail or the upload queue shows it was sealed. Its encrypted original is kept in quarantine; do not clear the app's data and ask an administrator to investigate."),
        ),
        K::EvidenceMissing { evidence_id, .. } => (
            format!("全过程记录表明证据 {evidence_id} 已封存，但数据库中没有它的记录，也没有找到它的文件。请联系管理员核查。"),
            format!("The trail shows evidence {evidence_id} was sealed, but neither its row nor its file is present. Ask an administrator to investigate."),
        ),
        K::EvidenceNotInTrail { evidence_id, .. } => (
            format!("证据 {evidence_id} 有记录，但全过程记录中没有它的封存事件。请联系管理员核查。"),
            format!("Evidence {evidence_id} has a row but no sealing event in the trail. Ask an administrator to investigate."),
        ),
        K::EvidenceBlobMissing { evidence_id, .. } => (
            format!("证据 {evidence_id} 的加密原件不在存储中。请勿清除应用数据，并联系管理员。"),
            format!("The encrypted original of evidence {evidence_id} is not in storage. Do not clear the app's data; contact an administrator."),
        ),
        K::ChainBroken { stream, .. } => (
            format!("全过程记录 {stream} 的哈希链校验失败。请联系管理员核查。"),
            format!("The hash chain of trail {stream} does not verify. Ask an administrator to investigate."),
        ),
        K::StreamTruncated { stream, anchored_seq, present_seq } => (
            format!("全过程记录 {stream} 已签名到第 {anchored_seq} 条，但现在只剩 {present_seq} 条：记录被截断。请联系管理员核查。"),
            format!("Trail {stream} was signed up to event {anchored_seq} but now ends at {present_seq}: it was cut. Ask an administrator to investigate."),
        ),
        K::StreamDeleted { stream } => (
            format!("检查存在，但其全过程记录 {stream} 不见了。请联系管理员核查。"),
            format!("The inspection exists but its trail {stream} is gone. Ask an administrator to investigate."),
        ),
        K::StreamDisagreesWithAnchor { stream, .. } => (
            format!("全过程记录 {stream} 与设备签名的链头不一致。请联系管理员核查。"),
            format!("Trail {stream} no longer matches the head the device signed. Ask an administrator to investigate."),
        ),
        K::AnchorBroken { .. } => (
            "设备签名的链头校验失败（签名、序号或链接不符）。请联系管理员核查。".to_owned(),
            "The device-signed trail heads do not verify (signature, sequence or link). Ask an administrator to investigate.".to_owned(),
        ),
        K::RolledBack { checkpoint_counter, database_counter } => (
            format!("数据库中的签名链头只到第 {database_counter} 个，而设备密钥库的检查点已到第 {checkpoint_counter} 个：数据库可能被换成了旧副本或被截断。请勿继续使用，并联系管理员。"),
            format!("The database's signed heads end at {database_counter}, but the key vault's checkpoint is at {checkpoint_counter}: the database may have been replaced by an older copy or cut. Stop using it and contact an administrator."),
        ),
        K::CheckpointUnavailable { .. } => (
            "无法读取或写入设备密钥库中的检查点，本次无法确认数据库是否最新。请解锁设备后重试。".to_owned(),
            "The key vault's checkpoint could not be read or written, so this check cannot confirm the database is the latest. Unlock the device and try again.".to_owned(),
        ),
        K::StateDisagrees { inspection_id, stored, trail } => (
            format!("检查 {inspection_id} 保存的状态（{stored}）与全过程记录（{trail}）不一致。请联系管理员核查。"),
            format!("Inspection {inspection_id} is stored as {stored} but its trail says {trail}. Ask an administrator to investigate."),
        ),
        K::CountersignatureRefused { counter, .. } => (
            format!("第 {counter} 个签名链头保存的省级平台会签无法通过校验（不是当前注册平台对该链头的回执），未予采信。若设备已重新注册到其他平台，这属正常；否则请联系管理员核查。"),
            format!("The province's countersignature kept for signed head {counter} does not verify (it is not the enrolled intake's receipt for that head) and is not counted. If the device was enrolled with another intake since, this is expected; otherwise ask an administrator to investigate."),
        ),
        K::InspectionUnreadable { inspection_id } => (
            format!("检查 {inspection_id} 的数据无法解密读取。请联系管理员。"),
            format!("Inspection {inspection_id} cannot be decrypted. Contact an administrator."),
        ),
    };
    IntegrityProblem { kind, message_zh: zh, message_en: en }
}

//! The record's operations on a store: build, revise, sign, refuse, freeze, addendum.
//!
//! Each operation checks its rules, then writes its rows and its trail event in one transaction,
//! so a refused operation leaves nothing behind. Signing checks that the signer saw the current
//! document (the hash the screen showed must be the record's hash now: requirement 5). Freezing
//! checks every signature rule (requirements 1, 5, 6), moves the inspection to 已签字 with the
//! document hash in the same transaction, and signs the trail head (requirements 7, 8).

use chrono::{DateTime, Duration, FixedOffset};
use rusqlite::Connection;
use serde_json::json;

use super::{
    RecordError,
    content::{self, DocumentKind, PartyStatement, RevisionEntry},
    document::RecordDocument,
    layout::{Page, SignerRole},
    persist::{self, RecordState, StoredEntry, StoredRecord},
    statements::{
        FREEZE_TYPE, FreezeStatement, FrozenEntry, REFUSAL_TYPE, RefusalStatement, SIGNATURE_TYPE,
        STATEMENT_VERSION, SignatureStatement, Signer, TrailHead, sha256_hex, unmet_signature_rules,
    },
    strokes::Strokes,
};
use crate::{
    Result,
    crypto::{DeviceSigner, signer::key_id},
    evidence::{CaptureClock, EvidenceKind, EvidenceManifest, LocationFix, ingest::manifest_of},
    id::new_id,
    model::InspectionState,
    protocol::{SignedEnvelope, canonicalize},
    store::{Keyring, Store, evidence as evidence_rows, inspections, timestamp},
    trail::DomainEvent,
};

/// A record made this long after the inspection ended is back-filled (后补) and needs a reason.
pub const BACK_FILL_AFTER: Duration = Duration::hours(24);

/// What the inspectors confirm when they build the record.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildRequest {
    pub party_statement: PartyStatement,
    /// 告知权利 — the party's rights were explained.
    pub rights_explained: bool,
    /// Required when the record is made more than [`BACK_FILL_AFTER`] after the inspection ended.
    pub back_fill_reason: Option<String>,
    pub at: DateTime<FixedOffset>,
}

/// A visible correction before freezing.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionRequest {
    pub reason: String,
    /// The inspector making the correction.
    pub by: String,
    /// A new confirmation or objection of the party, if it changed.
    pub party_statement: Option<PartyStatement>,
    pub at: DateTime<FixedOffset>,
}

/// One person signing on the pad.
#[derive(Debug, Clone, PartialEq)]
pub struct SignRequest {
    pub record_id: String,
    /// The document hash of the version the signer was shown.
    pub shown_document_hash: String,
    pub role: SignerRole,
    /// For an inspector: their register id. Ignored for the party (the header names them).
    pub inspector_id: Option<String>,
    /// For a witness: their name.
    pub witness_name: Option<String>,
    pub strokes: Strokes,
    pub clock: CaptureClock,
    pub location: Option<LocationFix>,
}

/// A witness signing a refusal.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct WitnessInput {
    pub name: String,
    pub strokes: Strokes,
}

/// The party refused to sign.
#[derive(Debug, Clone, PartialEq)]
pub struct RefuseRequest {
    pub record_id: String,
    pub shown_document_hash: String,
    pub reason: String,
    /// The inspector noting the refusal.
    pub noted_by: String,
    pub witness: Option<WitnessInput>,
    /// A video of the refusal sealed in this inspection.
    pub video_evidence_id: Option<String>,
    pub clock: CaptureClock,
    pub location: Option<LocationFix>,
}

/// Further facts after freezing: a new document naming the frozen one.
#[derive(Debug, Clone, PartialEq)]
pub struct AddendumRequest {
    pub text: String,
    pub by: String,
    pub party_statement: PartyStatement,
    pub at: DateTime<FixedOffset>,
}

/// A record as a screen shows it: its pages and hashes, and who signed this version.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RecordView {
    pub record_id: String,
    pub inspection_id: String,
    pub kind: DocumentKind,
    pub revision: u32,
    pub frozen: bool,
    pub document_hash: String,
    pub page_hashes: Vec<String>,
    pub pages: Vec<Page>,
    pub document: RecordDocument,
    /// Signatures and refusals over the current document hash.
    pub entries: Vec<EntrySummary>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EntrySummary {
    pub id: String,
    pub entry: String,
    pub role: SignerRole,
}

fn view(record: &StoredRecord, entries: &[StoredEntry]) -> Result<RecordView> {
    Ok(RecordView {
        record_id: record.id.clone(),
        inspection_id: record.inspection_id.clone(),
        kind: record.kind,
        revision: record.revision,
        frozen: record.state == RecordState::Frozen,
        document_hash: record.document_hash.clone(),
        page_hashes: record.document.page_hashes()?,
        pages: record.document.pages.clone(),
        document: record.document.clone(),
        entries: entries
            .iter()
            .filter(|e| e.document_hash == record.document_hash)
            .map(|e| EntrySummary { id: e.id.clone(), entry: e.entry.clone(), role: e.role })
            .collect(),
    })
}

fn stream_of(inspection_id: &str) -> String {
    format!("inspection:{inspection_id}")
}

fn event(record: &StoredRecord, kind: &str, payload: serde_json::Value) -> DomainEvent {
    DomainEvent::new(stream_of(&record.inspection_id), kind, payload)
}

fn non_blank(field: &str, value: &str) -> std::result::Result<String, RecordError> {
    let v = value.trim();
    if v.is_empty() { Err(RecordError::invalid(field, "must not be empty")) } else { Ok(v.to_owned()) }
}

/// Manifests of an inspection's sealed evidence, in sealing order.
pub(crate) fn evidence_manifests(
    conn: &Connection,
    keys: &Keyring,
    inspection_id: &str,
) -> Result<Vec<EvidenceManifest>> {
    evidence_rows::list_for_inspection(conn, keys, inspection_id)?
        .iter()
        .map(|row| manifest_of(&row.envelope))
        .collect()
}

/// The record of an inspection (not an addendum), if built.
pub fn record_of_inspection(store: &Store, inspection_id: &str) -> Result<Option<RecordView>> {
    store.read(|conn, keys| {
        let records = persist::records_of_inspection(conn, keys, inspection_id)?;
        match records.iter().find(|r| r.kind == DocumentKind::Record) {
            Some(r) => Ok(Some(view(r, &persist::entries_of_record(conn, keys, &r.id)?)?)),
            None => Ok(None),
        }
    })
}

pub fn load(store: &Store, record_id: &str) -> Result<RecordView> {
    store.read(|conn, keys| {
        let r = persist::load_record(conn, keys, record_id)?;
        view(&r, &persist::entries_of_record(conn, keys, record_id)?)
    })
}

/// Builds the record of an inspection waiting for signature (待签字): content, pages, hashes.
pub fn build(store: &Store, inspection_id: &str, req: BuildRequest) -> Result<RecordView> {
    let record_id = new_id()?;
    store.write(|tx, keys| {
        let inspection = inspections::load_inspection(tx, keys, inspection_id)?;
        if inspection.state() != InspectionState::PendingSignature {
            return Err(RecordError::not_allowed(
                "record.build.not_pending_signature",
                format!("the inspection is {}; submit it for signature first", inspection.state().code()),
            )
            .into());
        }
        if persist::records_of_inspection(tx, keys, inspection_id)?
            .iter()
            .any(|r| r.kind == DocumentKind::Record)
        {
            return Err(RecordError::not_allowed(
                "record.exists",
                "this inspection already has a record; revise it",
            )
            .into());
        }
        let ended = inspection.header().ended_at;
        let back_filled = match (ended, req.back_fill_reason.as_deref().map(str::trim)) {
            (Some(end), reason) if req.at - end > BACK_FILL_AFTER => match reason {
                Some(r) if !r.is_empty() => Some(r.to_owned()),
                _ => {
                    return Err(RecordError::not_allowed(
                        "record.back_filled.reason_required",
                        "the record is made more than 24 h after the inspection ended",
                    )
                    .into());
                }
            },
            _ => None,
        };
        let evidence = evidence_manifests(tx, keys, inspection_id)?;
        let content = content::assemble(
            &record_id,
            &inspection,
            &evidence,
            req.party_statement.clone(),
            req.rights_explained,
            back_filled,
        )?;
        let document = RecordDocument::from_content(content);
        let record = StoredRecord {
            id: record_id.clone(),
            inspection_id: inspection_id.to_owned(),
            kind: DocumentKind::Record,
            amends_record_id: None,
            revision: 1,
            document_hash: document.document_hash()?,
            state: RecordState::Draft,
            document,
            freeze: None,
        };
        persist::insert_record(tx, keys, &record)?;
        crate::store::trail::append(
            tx,
            keys,
            &event(
                &record,
                "record.built",
                json!({ "record_id": record.id, "revision": 1, "document_hash": record.document_hash,
                        "pages": record.document.pages.len(), "at": req.at }),
            ),
        )?;
        view(&record, &[])
    })
}

fn load_draft(
    conn: &Connection,
    keys: &Keyring,
    record_id: &str,
    action: &'static str,
) -> Result<StoredRecord> {
    let record = persist::load_record(conn, keys, record_id)?;
    if record.state == RecordState::Frozen {
        return Err(RecordError::Frozen { record_id: record_id.to_owned(), action }.into());
    }
    Ok(record)
}

/// A visible correction before freezing: the document is rebuilt (for the record, from the
/// inspection as it is now), the revision noted in it, and earlier signatures no longer count.
pub fn revise(store: &Store, record_id: &str, req: RevisionRequest) -> Result<RecordView> {
    let reason = non_blank("reason", &req.reason)?;
    store.write(|tx, keys| {
        let mut record = load_draft(tx, keys, record_id, "revise")?;
        let old = record.document.content.clone();
        if !old.header.inspectors.iter().any(|i| i.id == req.by) {
            return Err(RecordError::invalid("by", "only an inspector on the team revises the record").into());
        }
        let party = req.party_statement.clone().unwrap_or_else(|| old.party_statement.clone());
        let mut content = match record.kind {
            DocumentKind::Record => {
                let inspection = inspections::load_inspection(tx, keys, &record.inspection_id)?;
                if inspection.state() != InspectionState::PendingSignature {
                    return Err(RecordError::not_allowed(
                        "record.revise.not_pending_signature",
                        "submit the corrected inspection for signature again first",
                    )
                    .into());
                }
                let evidence = evidence_manifests(tx, keys, &record.inspection_id)?;
                let rights = old.procedure.as_ref().is_some_and(|p| p.rights_explained);
                content::assemble(&record.id, &inspection, &evidence, party, rights, old.back_filled.clone())?
            }
            DocumentKind::Addendum => {
                let mut c = old.clone();
                c.party_statement = party;
                c
            }
        };
        content.revision = old.revision + 1;
        content.revisions = old.revisions.clone();
        let mut candidate = old.clone();
        candidate.revision = content.revision;
        candidate.revisions = content.revisions.clone();
        if candidate == content {
            return Err(RecordError::not_allowed("record.revision.no_change", "nothing in the record changed").into());
        }
        content.revisions.push(RevisionEntry {
            revision: content.revision,
            reason,
            by: req.by.clone(),
            at: content::minute(req.at),
            previous_document_hash: record.document_hash.clone(),
        });
        let previous = record.document_hash.clone();
        record.document = RecordDocument::from_content(content);
        record.revision = record.document.content.revision;
        record.document_hash = record.document.document_hash()?;
        persist::update_draft(tx, keys, &record)?;
        crate::store::trail::append(
            tx,
            keys,
            &event(
                &record,
                "record.revised",
                json!({ "record_id": record.id, "revision": record.revision, "reason": req.reason.trim(), "by": req.by,
                        "previous_document_hash": previous, "document_hash": record.document_hash, "at": req.at }),
            ),
        )?;
        view(&record, &[])
    })
}

fn check_shown(record: &StoredRecord, shown: &str) -> std::result::Result<(), RecordError> {
    if shown != record.document_hash {
        return Err(RecordError::StaleHash {
            shown: shown.to_owned(),
            current: record.document_hash.clone(),
        });
    }
    Ok(())
}

fn inspector_signer(record: &StoredRecord, id: &str) -> std::result::Result<Signer, RecordError> {
    let i = record
        .document
        .content
        .header
        .inspectors
        .iter()
        .find(|i| i.id == id)
        .ok_or_else(|| RecordError::invalid("inspector_id", "not an inspector of this record's team"))?;
    Ok(Signer {
        role: SignerRole::Inspector,
        name: i.name.clone(),
        inspector_id: Some(i.id.clone()),
        certificate_no: Some(i.certificate_no.clone()),
        post: None,
    })
}

struct MadeSignature {
    entry: StoredEntry,
    statement: SignatureStatement,
}

#[allow(clippy::too_many_arguments)]
fn make_signature(
    record: &StoredRecord,
    signer: &dyn DeviceSigner,
    who: Signer,
    strokes: &Strokes,
    clock: &CaptureClock,
    location: Option<&LocationFix>,
) -> Result<MadeSignature> {
    strokes.check()?;
    clock.validate()?;
    if let Some(l) = location {
        l.validate()?;
    }
    let strokes_json = canonicalize(
        &serde_json::to_value(strokes).map_err(|e| RecordError::invalid("strokes", e.to_string()))?,
    )?
    .into_bytes();
    let image = strokes.render_png()?;
    let signature_id = new_id()?;
    let statement = SignatureStatement {
        statement: SIGNATURE_TYPE.to_owned(),
        v: STATEMENT_VERSION,
        signature_id: signature_id.clone(),
        record_id: record.id.clone(),
        revision: record.revision,
        document_hash: record.document_hash.clone(),
        page_hashes: record.document.page_hashes()?,
        signer: who,
        clock: clock.clone(),
        location: location.cloned(),
        strokes_sha256: sha256_hex(&strokes_json),
        image_sha256: sha256_hex(&image),
        device_key_id: key_id(&signer.public_key()?)?,
    };
    let payload =
        serde_json::to_value(&statement).map_err(|e| RecordError::invalid("signature", e.to_string()))?;
    let envelope = SignedEnvelope::seal(&payload, signer)?;
    let entry = StoredEntry {
        id: signature_id,
        record_id: record.id.clone(),
        entry: "signature".into(),
        role: statement.signer.role,
        document_hash: record.document_hash.clone(),
        envelope,
        strokes_json: Some(strokes_json),
        image_png: Some(image),
    };
    Ok(MadeSignature { entry, statement })
}

fn signed_event(record: &StoredRecord, e: &StoredEntry) -> Result<DomainEvent> {
    Ok(event(
        record,
        if e.entry == "refusal" { "record.refused" } else { "record.signed" },
        json!({ "record_id": record.id, "entry_id": e.id, "role": e.role.code(), "document_hash": e.document_hash,
                "statement_sha256": sha256_hex(e.envelope.to_json_string()?.as_bytes()) }),
    ))
}

/// Signs the record as one person. Refused when the record changed since it was shown (stale
/// hash), when the strokes are not a plausible signature, or when the signer is not who the role
/// allows; one signature per inspector or party per version.
pub fn sign(store: &Store, signer: &dyn DeviceSigner, req: &SignRequest) -> Result<EntrySummary> {
    let record = store.read(|c, k| load_draft(c, k, &req.record_id, "sign"))?;
    check_shown(&record, &req.shown_document_hash)?;
    let header = &record.document.content.header;
    let who = match req.role {
        SignerRole::Inspector => inspector_signer(
            &record,
            req.inspector_id
                .as_deref()
                .ok_or_else(|| RecordError::invalid("inspector_id", "an inspector signs by id"))?,
        )?,
        SignerRole::Party => Signer {
            role: SignerRole::Party,
            name: header.person_in_charge.name.clone(),
            inspector_id: None,
            certificate_no: None,
            post: Some(header.person_in_charge.post.clone()),
        },
        SignerRole::Witness => Signer {
            role: SignerRole::Witness,
            name: non_blank("witness_name", req.witness_name.as_deref().unwrap_or_default())?,
            inspector_id: None,
            certificate_no: None,
            post: None,
        },
    };
    let made = make_signature(&record, signer, who, &req.strokes, &req.clock, req.location.as_ref())?;
    store.write(|tx, keys| {
        // Re-check inside the write lock: another screen may have revised or frozen it meanwhile.
        let now = load_draft(tx, keys, &req.record_id, "sign")?;
        check_shown(&now, &req.shown_document_hash)?;
        let earlier = persist::entries_of_record(tx, keys, &now.id)?;
        let duplicate = req.role != SignerRole::Witness
            && earlier.iter().filter(|e| e.document_hash == now.document_hash && e.entry == "signature").any(
                |e| {
                    signature_statement(e).is_ok_and(|s| {
                        s.signer.role == made.statement.signer.role
                            && s.signer.inspector_id == made.statement.signer.inspector_id
                    })
                },
            );
        if duplicate {
            return Err(RecordError::not_allowed(
                "record.signature.duplicate",
                "this signer already signed this version",
            )
            .into());
        }
        persist::insert_entry(tx, keys, &made.entry)?;
        crate::store::trail::append(tx, keys, &signed_event(&now, &made.entry)?)?;
        Ok(EntrySummary { id: made.entry.id.clone(), entry: "signature".into(), role: made.entry.role })
    })
}

fn signature_statement(e: &StoredEntry) -> std::result::Result<SignatureStatement, RecordError> {
    serde_json::from_value(e.envelope.payload.clone())
        .map_err(|err| RecordError::invalid("signature", err.to_string()))
}

fn refusal_statement(e: &StoredEntry) -> std::result::Result<RefusalStatement, RecordError> {
    serde_json::from_value(e.envelope.payload.clone())
        .map_err(|err| RecordError::invalid("refusal", err.to_string()))
}

/// Records that the party refused to sign (requirement 6): a reason, the inspector who noted it,
/// and a witness who signs now or a video of the refusal sealed in this inspection.
pub fn refuse(store: &Store, signer: &dyn DeviceSigner, req: &RefuseRequest) -> Result<EntrySummary> {
    let reason = non_blank("reason", &req.reason)?;
    if req.witness.is_none() && req.video_evidence_id.is_none() {
        return Err(RecordError::not_allowed(
            "record.refusal.witness_or_video",
            "a refusal needs a witness signature or a video of the refusal",
        )
        .into());
    }
    let record = store.read(|c, k| load_draft(c, k, &req.record_id, "refuse"))?;
    check_shown(&record, &req.shown_document_hash)?;
    let noted_by = inspector_signer(&record, &req.noted_by)?;
    if let Some(video) = &req.video_evidence_id {
        let row = store
            .read(|c, k| evidence_rows::get(c, k, video))
            .map_err(|_| RecordError::invalid("video_evidence_id", "no such evidence in this inspection"))?;
        if row.inspection_id != record.inspection_id || row.kind != EvidenceKind::Video {
            return Err(RecordError::invalid(
                "video_evidence_id",
                "must be a video sealed in this inspection",
            )
            .into());
        }
    }
    let witness = req
        .witness
        .as_ref()
        .map(|w| -> Result<MadeSignature> {
            let who = Signer {
                role: SignerRole::Witness,
                name: non_blank("witness.name", &w.name)?,
                inspector_id: None,
                certificate_no: None,
                post: None,
            };
            make_signature(&record, signer, who, &w.strokes, &req.clock, req.location.as_ref())
        })
        .transpose()?;
    req.clock.validate()?;
    let refusal_id = new_id()?;
    let statement = RefusalStatement {
        statement: REFUSAL_TYPE.to_owned(),
        v: STATEMENT_VERSION,
        refusal_id: refusal_id.clone(),
        record_id: record.id.clone(),
        revision: record.revision,
        document_hash: record.document_hash.clone(),
        page_hashes: record.document.page_hashes()?,
        reason,
        noted_by,
        witness_signature_id: witness.as_ref().map(|w| w.entry.id.clone()),
        video_evidence_id: req.video_evidence_id.clone(),
        clock: req.clock.clone(),
        device_key_id: key_id(&signer.public_key()?)?,
    };
    let payload =
        serde_json::to_value(&statement).map_err(|e| RecordError::invalid("refusal", e.to_string()))?;
    let entry = StoredEntry {
        id: refusal_id,
        record_id: record.id.clone(),
        entry: "refusal".into(),
        role: SignerRole::Party,
        document_hash: record.document_hash.clone(),
        envelope: SignedEnvelope::seal(&payload, signer)?,
        strokes_json: None,
        image_png: None,
    };
    store.write(|tx, keys| {
        let now = load_draft(tx, keys, &req.record_id, "refuse")?;
        check_shown(&now, &req.shown_document_hash)?;
        if let Some(w) = &witness {
            persist::insert_entry(tx, keys, &w.entry)?;
            crate::store::trail::append(tx, keys, &signed_event(&now, &w.entry)?)?;
        }
        persist::insert_entry(tx, keys, &entry)?;
        crate::store::trail::append(tx, keys, &signed_event(&now, &entry)?)?;
        Ok(EntrySummary { id: entry.id.clone(), entry: "refusal".into(), role: SignerRole::Party })
    })
}

/// Makes the record final. Every signature rule must hold over the current document; the
/// inspection moves to 已签字 with this document hash (for an addendum it must already be signed);
/// the freeze is written to the trail and the trail head signed with the device key, both in the
/// freeze statement and as a trail anchor ([`crate::store::anchors::sign_head`]).
pub fn freeze(
    store: &Store,
    signer: &dyn DeviceSigner,
    record_id: &str,
    at: DateTime<FixedOffset>,
) -> Result<RecordView> {
    let device_key_id = key_id(&signer.public_key()?)?;
    store.write(|tx, keys| {
        let record = load_draft(tx, keys, record_id, "freeze")?;
        let current: Vec<StoredEntry> = persist::entries_of_record(tx, keys, record_id)?
            .into_iter()
            .filter(|e| e.document_hash == record.document_hash)
            .collect();
        let mut signatures = Vec::new();
        let mut refusals = Vec::new();
        for e in &current {
            if e.entry == "refusal" {
                refusals.push(refusal_statement(e)?);
            } else {
                signatures.push(signature_statement(e)?);
            }
        }
        let evidence = evidence_rows::list_for_inspection(tx, keys, &record.inspection_id)?;
        let videos: Vec<String> =
            evidence.iter().filter(|r| r.kind == EvidenceKind::Video).map(|r| r.id.clone()).collect();
        let missing = unmet_signature_rules(&record.document.content, &signatures, &refusals, &|id| {
            videos.iter().any(|v| v == id)
        });
        if !missing.is_empty() {
            return Err(RecordError::NotReadyToFreeze { missing }.into());
        }
        match record.kind {
            DocumentKind::Record => {
                inspections::modify_inspection(tx, keys, &record.inspection_id, |i| {
                    i.record_signing(&record.document_hash, at)
                })?;
            }
            DocumentKind::Addendum => {
                let inspection = inspections::load_inspection(tx, keys, &record.inspection_id)?;
                if !inspection.state().is_frozen() {
                    return Err(RecordError::not_allowed(
                        "record.addendum.record_not_signed",
                        "the record itself is not signed",
                    )
                    .into());
                }
            }
        }
        let entries = current
            .iter()
            .map(|e| {
                Ok(FrozenEntry {
                    id: e.id.clone(),
                    entry: e.entry.clone(),
                    role: e.role,
                    statement_sha256: sha256_hex(e.envelope.to_json_string()?.as_bytes()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let stream = stream_of(&record.inspection_id);
        crate::store::trail::append(
            tx,
            keys,
            &event(
                &record,
                "record.frozen",
                json!({ "record_id": record.id, "kind": record.kind.code(), "revision": record.revision,
                        "document_hash": record.document_hash, "entries": entries, "at": at }),
            ),
        )?;
        let (seq, hash) = crate::store::trail::head(tx, &stream)?.ok_or_else(|| RecordError::Corrupt {
            record_id: record.id.clone(),
            what: "the trail has no head after the freeze event".into(),
        })?;
        let statement = FreezeStatement {
            statement: FREEZE_TYPE.to_owned(),
            v: STATEMENT_VERSION,
            record_id: record.id.clone(),
            inspection_id: record.inspection_id.clone(),
            kind: record.kind.code().to_owned(),
            revision: record.revision,
            document_hash: record.document_hash.clone(),
            page_hashes: record.document.page_hashes()?,
            entries,
            trail_head: TrailHead { stream, seq, hash },
            frozen_at: timestamp(at.with_timezone(&chrono::Utc)),
            device_key_id: device_key_id.clone(),
        };
        let payload =
            serde_json::to_value(&statement).map_err(|e| RecordError::invalid("freeze", e.to_string()))?;
        let envelope = SignedEnvelope::seal(&payload, signer)?;
        persist::mark_frozen(tx, keys, &record.id, &envelope)?;
        // Sent after its evidence, then its trail head (the sync driver builds the head's statement).
        let evidence_ids: Vec<String> = evidence.into_iter().map(|r| r.id).collect();
        crate::outbox::enqueue_frozen_record(
            tx,
            &record.id,
            &evidence_ids,
            &statement.trail_head.stream,
            seq,
        )?;
        // The installation's anchor of this head, in the freeze's own transaction: the freeze and
        // its signed head commit together (the caller moves the platform checkpoint after).
        crate::store::anchors::sign_head(
            tx,
            keys,
            signer,
            &statement.trail_head.stream,
            &statement.frozen_at,
        )?;
        let frozen = persist::load_record(tx, keys, &record.id)?;
        view(&frozen, &current)
    })
}

/// Starts an addendum to a frozen record: a new document naming the record by its hash, to be
/// signed and frozen like the record.
pub fn add_addendum(store: &Store, record_id: &str, req: &AddendumRequest) -> Result<RecordView> {
    let addendum_id = new_id()?;
    store.write(|tx, keys| {
        let original = persist::load_record(tx, keys, record_id)?;
        if original.state != RecordState::Frozen || original.kind != DocumentKind::Record {
            return Err(RecordError::not_allowed("record.addendum.not_frozen", "an addendum amends a frozen record").into());
        }
        if !original.document.content.header.inspectors.iter().any(|i| i.id == req.by) {
            return Err(RecordError::invalid("by", "only an inspector on the team writes an addendum").into());
        }
        let content = content::assemble_addendum(
            &addendum_id,
            &original.document.content,
            &original.document_hash,
            &req.text,
            req.party_statement.clone(),
        )?;
        let document = RecordDocument::from_content(content);
        let record = StoredRecord {
            id: addendum_id.clone(),
            inspection_id: original.inspection_id.clone(),
            kind: DocumentKind::Addendum,
            amends_record_id: Some(original.id.clone()),
            revision: 1,
            document_hash: document.document_hash()?,
            state: RecordState::Draft,
            document,
            freeze: None,
        };
        persist::insert_record(tx, keys, &record)?;
        crate::store::trail::append(
            tx,
            keys,
            &event(
                &record,
                "record.addendum_created",
                json!({ "record_id": record.id, "amends": original.id, "amends_document_hash": original.document_hash,
                        "document_hash": record.document_hash, "by": req.by, "at": req.at }),
            ),
        )?;
        view(&record, &[])
    })
}

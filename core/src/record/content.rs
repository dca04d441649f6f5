//! 笔录内容 — what the on-site record says, assembled from the inspection.
//!
//! The content is the machine-readable record: every header field of DOMAIN.md, the procedure
//! statements, each item's result with its visible corrections, the findings with their handling,
//! the evidence list with format and SHA-256 of each original, the party's statement, the versions
//! of checklist and register (requirement 11) and the revision history. [`super::layout`] turns it
//! into the pages a person reads and signs; both are hashed together (see [`super::document`]).
//!
//! Format v1, specified in `docs/formats/record.md`. Unknown members are refused on reading.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::RecordError;
use crate::{
    checklist::{AnswerType, AnswerValue},
    evidence::EvidenceManifest,
    model::{Handling, Inspection},
};

pub const CONTENT_TYPE: &str = "fieldseal.record_content";
pub const CONTENT_VERSION: u32 = 1;

/// The wording the party confirms with when it has no objection.
pub const CONFIRMATION_TEXT: &str = "以上笔录属实";

/// Whether a document is the record itself or an addendum to a frozen record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// 现场检查笔录.
    Record,
    /// 补充笔录 — further facts after the record was frozen.
    Addendum,
}

impl DocumentKind {
    pub fn code(self) -> &'static str {
        match self {
            DocumentKind::Record => "record",
            DocumentKind::Addendum => "addendum",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct RecordContent {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    pub record_id: String,
    pub inspection_id: String,
    pub kind: DocumentKind,
    /// 1 for the first version offered for signature; each visible correction adds one.
    pub revision: u32,
    pub title: String,
    pub header: HeaderSection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<Procedure>,
    pub items: Vec<ItemEntry>,
    pub findings: Vec<FindingEntry>,
    pub evidence: Vec<EvidenceEntry>,
    pub party_statement: PartyStatement,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Versions>,
    /// 后补 — why the record was made long after the inspection ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_filled: Option<String>,
    pub revisions: Vec<RevisionEntry>,
    /// For an addendum: the frozen record it adds to, by id and document hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amends: Option<Amends>,
    /// For an addendum: the further facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addendum_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct HeaderSection {
    pub enterprise_name: String,
    pub uscc: String,
    pub legal_representative: String,
    pub address: String,
    /// 检查地点 — the exact place on the site.
    pub place: String,
    pub person_in_charge: PersonInCharge,
    /// To the minute, `YYYY-MM-DD HH:MM` in the inspection's local time.
    pub started_at: String,
    pub ended_at: String,
    pub inspectors: Vec<InspectorEntry>,
    pub recorder: InspectorEntry,
    pub task_source: String,
}

/// 现场负责人.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct PersonInCharge {
    pub name: String,
    pub post: String,
    pub id_number: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct InspectorEntry {
    pub id: String,
    pub name: String,
    /// 执法证号.
    pub certificate_no: String,
}

/// 程序事项 — credentials shown, rights explained, recusal asked and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    pub credentials_shown_at: String,
    pub credentials_method: String,
    pub rights_explained: bool,
    pub recusal_asked_at: String,
    pub recusal_requested: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct ItemEntry {
    pub id: String,
    pub section: String,
    pub check_point: String,
    /// The answer as shown: 合格 / 不合格 / 不涉及 / 未检查, or the value entered.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Earlier answers and why they changed, oldest first: corrections stay visible.
    pub corrections: Vec<CorrectionEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct CorrectionEntry {
    pub previous: String,
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct FindingEntry {
    pub id: String,
    pub item_id: String,
    pub category: String,
    pub description: String,
    pub legal_basis: Vec<String>,
    /// 立行立改 / 限期整改 / 立案查处 / 不予处罚 / 移送.
    pub handling: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measures: Option<String>,
    /// 整改期限, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    pub evidence_ids: Vec<String>,
}

/// One piece of evidence as the record lists it: format and hash of the original.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct EvidenceEntry {
    pub id: String,
    pub kind: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub captured_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
}

/// 当事人意见 — confirmation ("以上笔录属实") or objection, in the party's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct PartyStatement {
    pub objection: bool,
    pub text: String,
}

impl PartyStatement {
    pub fn confirmed() -> Self {
        Self { objection: false, text: CONFIRMATION_TEXT.to_owned() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Versions {
    pub template_id: String,
    pub template_version: String,
    pub template_hash: String,
    pub register_version: String,
    pub register_hash: String,
}

/// A visible correction made before freezing, confirmed by signing the new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct RevisionEntry {
    pub revision: u32,
    pub reason: String,
    pub by: String,
    pub at: String,
    pub previous_document_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Amends {
    pub record_id: String,
    pub document_hash: String,
}

/// To the minute, as the record shows times.
pub fn minute(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn answer_text(value: &AnswerValue) -> (String, Option<String>) {
    match value {
        AnswerValue::Result { code, reason } => (code.label_zh().to_owned(), reason.clone()),
        other => (other.display(), None),
    }
}

/// Assembles the content of an inspection's record. The inspection must be waiting for signature
/// (so header, answers and findings passed their checks); `evidence` are the verified manifests
/// of its sealed captures, in sealing order.
pub fn assemble(
    record_id: &str,
    inspection: &Inspection,
    evidence: &[EvidenceManifest],
    party_statement: PartyStatement,
    rights_explained: bool,
    back_filled: Option<String>,
) -> Result<RecordContent, RecordError> {
    let missing = |what: &str| RecordError::not_allowed("record.inspection_incomplete", what.to_owned());
    let checklist = inspection.checklist().ok_or_else(|| missing("no checklist"))?;
    let h = inspection.header();
    let started = h.started_at.ok_or_else(|| missing("no start time"))?;
    let ended =
        h.ended_at.ok_or_else(|| missing("no end time: submit the inspection for signature first"))?;
    let credentials = inspection.credentials().ok_or_else(|| missing("credentials were not shown"))?;
    let recusal = inspection.recusal().ok_or_else(|| missing("the recusal question was not asked"))?;
    if !rights_explained {
        return Err(RecordError::invalid(
            "rights_explained",
            "the party's rights must be explained (告知权利)",
        ));
    }
    if party_statement.text.trim().is_empty() {
        return Err(RecordError::invalid(
            "party_statement",
            "the party's confirmation or objection is empty",
        ));
    }
    let inspectors: Vec<InspectorEntry> = inspection
        .inspectors()
        .iter()
        .map(|i| InspectorEntry {
            id: i.id.clone(),
            name: i.name.clone(),
            certificate_no: i.certificate_no.clone(),
        })
        .collect();
    let recorder = inspectors
        .iter()
        .find(|i| i.id == h.recorder_id)
        .cloned()
        .ok_or_else(|| missing("the recorder is not on the team"))?;

    let mut items = Vec::new();
    for section in &checklist.sections {
        for item in &section.items {
            let Some(answer) = inspection.answers().get(&item.id) else { continue };
            let (mut result, remark) = answer_text(&answer.value);
            if let (AnswerValue::Number { .. }, AnswerType::Number { unit, .. }) =
                (&answer.value, &item.answer)
                && !unit.trim().is_empty()
            {
                result = format!("{result} {}", unit.trim());
            }
            let corrections = answer
                .corrections
                .iter()
                .map(|c| CorrectionEntry {
                    previous: answer_text(&c.previous).0,
                    reason: c.reason.clone(),
                    at: minute(c.at),
                })
                .collect();
            items.push(ItemEntry {
                id: item.id.clone(),
                section: section.title.clone(),
                check_point: item.check_point.clone(),
                result,
                remark,
                corrections,
            });
        }
    }
    let findings = inspection
        .active_findings()
        .map(|f| {
            let (handling, measures, deadline) = match &f.handling {
                Handling::FixOnSite => ("立行立改".to_owned(), None, None),
                Handling::RectifyByDeadline { measures, deadline } => {
                    ("限期整改".to_owned(), Some(measures.clone()), Some(deadline.to_string()))
                }
                Handling::OpenCase { .. } => ("立案查处".to_owned(), None, None),
                Handling::NoPenalty { eligibility_basis } => {
                    ("不予处罚".to_owned(), Some(eligibility_basis.clone()), None)
                }
                Handling::Transfer { to_authority, reason } => {
                    ("移送".to_owned(), Some(format!("移送{to_authority}：{reason}")), None)
                }
            };
            FindingEntry {
                id: f.id.clone(),
                item_id: f.item_id.clone(),
                category: f.category.label_zh().to_owned(),
                description: f.description.clone(),
                legal_basis: f.legal_basis.clone(),
                handling,
                measures,
                deadline,
                evidence_ids: f.evidence_ids.clone(),
            }
        })
        .collect();
    let evidence = evidence
        .iter()
        .map(|m| EvidenceEntry {
            id: m.evidence_id.clone(),
            kind: m.kind.code().to_owned(),
            media_type: m.media_type.mime().to_owned(),
            size: m.size,
            sha256: m.sha256.clone(),
            captured_at: minute(m.captured.wall_clock),
            item_id: m.item_id.clone(),
            finding_id: m.finding_id.clone(),
        })
        .collect();

    Ok(RecordContent {
        statement: CONTENT_TYPE.to_owned(),
        v: CONTENT_VERSION,
        record_id: record_id.to_owned(),
        inspection_id: inspection.id().to_owned(),
        kind: DocumentKind::Record,
        revision: 1,
        title: "现场检查笔录".to_owned(),
        header: HeaderSection {
            enterprise_name: h.enterprise_name.clone(),
            uscc: h.uscc.clone(),
            legal_representative: h.legal_representative.clone(),
            address: h.address.clone(),
            place: h.place.clone(),
            person_in_charge: PersonInCharge {
                name: h.person_in_charge_name.clone(),
                post: h.person_in_charge_post.clone(),
                id_number: h.person_in_charge_id_number.clone(),
                phone: h.person_in_charge_phone.clone(),
            },
            started_at: minute(started),
            ended_at: minute(ended),
            inspectors,
            recorder,
            task_source: h.task_source.clone(),
        },
        procedure: Some(Procedure {
            credentials_shown_at: minute(credentials.at),
            credentials_method: credentials.method.clone(),
            rights_explained,
            recusal_asked_at: minute(recusal.at),
            recusal_requested: recusal.requested,
        }),
        items,
        findings,
        evidence,
        party_statement,
        versions: Some(Versions {
            template_id: checklist.template_id.clone(),
            template_version: checklist.template_version.clone(),
            template_hash: checklist.template_hash.clone(),
            register_version: checklist.register_version.clone(),
            register_hash: checklist.register_hash.clone(),
        }),
        back_filled,
        revisions: Vec::new(),
        amends: None,
        addendum_text: None,
    })
}

/// The content of an addendum to the frozen record `original`.
pub fn assemble_addendum(
    addendum_id: &str,
    original: &RecordContent,
    original_hash: &str,
    text: &str,
    party_statement: PartyStatement,
) -> Result<RecordContent, RecordError> {
    if text.trim().is_empty() {
        return Err(RecordError::invalid("addendum_text", "an addendum needs the facts it adds"));
    }
    if party_statement.text.trim().is_empty() {
        return Err(RecordError::invalid(
            "party_statement",
            "the party's confirmation or objection is empty",
        ));
    }
    Ok(RecordContent {
        statement: CONTENT_TYPE.to_owned(),
        v: CONTENT_VERSION,
        record_id: addendum_id.to_owned(),
        inspection_id: original.inspection_id.clone(),
        kind: DocumentKind::Addendum,
        revision: 1,
        title: "现场检查笔录（补充）".to_owned(),
        header: original.header.clone(),
        procedure: None,
        items: Vec::new(),
        findings: Vec::new(),
        evidence: Vec::new(),
        party_statement,
        versions: None,
        back_filled: None,
        revisions: Vec::new(),
        amends: Some(Amends {
            record_id: original.record_id.clone(),
            document_hash: original_hash.to_owned(),
        }),
        addendum_text: Some(text.trim().to_owned()),
    })
}

//! 笔录首部 — the header fields of the on-site record, and which must be complete before signature.
//!
//! Fields are prefilled from the register when the checklist is prepared and may be edited on site
//! (the party's details, a changed address). Edits are accepted as typed, because inspectors fill the
//! header in pieces; completeness and the USCC check character are enforced at the door to signature
//! (requirement 2) and shown as validation messages meanwhile.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{Blocker, Inspector, Message, Uscc};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RecordHeader {
    pub enterprise_name: String,
    pub uscc: String,
    pub legal_representative: String,
    pub address: String,
    /// 检查地点 — the exact place on the site (workshop, outlet, storage room).
    pub place: String,
    /// 现场负责人.
    pub person_in_charge_name: String,
    pub person_in_charge_post: String,
    pub person_in_charge_id_number: String,
    pub person_in_charge_phone: String,
    /// 记录人 — the inspector writing the record; must be on the team.
    pub recorder_id: String,
    pub task_source: String,
    pub started_at: Option<DateTime<FixedOffset>>,
    pub ended_at: Option<DateTime<FixedOffset>>,
}

/// The header fields an inspector can edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum HeaderField {
    EnterpriseName,
    Uscc,
    LegalRepresentative,
    Address,
    Place,
    PersonInChargeName,
    PersonInChargePost,
    PersonInChargeIdNumber,
    PersonInChargePhone,
    RecorderId,
}

impl HeaderField {
    pub fn code(self) -> &'static str {
        match self {
            HeaderField::EnterpriseName => "enterprise_name",
            HeaderField::Uscc => "uscc",
            HeaderField::LegalRepresentative => "legal_representative",
            HeaderField::Address => "address",
            HeaderField::Place => "place",
            HeaderField::PersonInChargeName => "person_in_charge_name",
            HeaderField::PersonInChargePost => "person_in_charge_post",
            HeaderField::PersonInChargeIdNumber => "person_in_charge_id_number",
            HeaderField::PersonInChargePhone => "person_in_charge_phone",
            HeaderField::RecorderId => "recorder_id",
        }
    }

    /// Whether the field names a person (its value never goes into messages or plain columns).
    pub fn is_personal(self) -> bool {
        matches!(
            self,
            HeaderField::LegalRepresentative
                | HeaderField::PersonInChargeName
                | HeaderField::PersonInChargeIdNumber
                | HeaderField::PersonInChargePhone
        )
    }
}

impl RecordHeader {
    pub fn get(&self, field: HeaderField) -> &str {
        match field {
            HeaderField::EnterpriseName => &self.enterprise_name,
            HeaderField::Uscc => &self.uscc,
            HeaderField::LegalRepresentative => &self.legal_representative,
            HeaderField::Address => &self.address,
            HeaderField::Place => &self.place,
            HeaderField::PersonInChargeName => &self.person_in_charge_name,
            HeaderField::PersonInChargePost => &self.person_in_charge_post,
            HeaderField::PersonInChargeIdNumber => &self.person_in_charge_id_number,
            HeaderField::PersonInChargePhone => &self.person_in_charge_phone,
            HeaderField::RecorderId => &self.recorder_id,
        }
    }

    pub(super) fn set(&mut self, field: HeaderField, value: String) {
        let slot = match field {
            HeaderField::EnterpriseName => &mut self.enterprise_name,
            HeaderField::Uscc => &mut self.uscc,
            HeaderField::LegalRepresentative => &mut self.legal_representative,
            HeaderField::Address => &mut self.address,
            HeaderField::Place => &mut self.place,
            HeaderField::PersonInChargeName => &mut self.person_in_charge_name,
            HeaderField::PersonInChargePost => &mut self.person_in_charge_post,
            HeaderField::PersonInChargeIdNumber => &mut self.person_in_charge_id_number,
            HeaderField::PersonInChargePhone => &mut self.person_in_charge_phone,
            HeaderField::RecorderId => &mut self.recorder_id,
        };
        *slot = value;
    }

    /// Every reason the header is not ready for signature (requirement 2).
    pub fn blockers(&self, team: &[Inspector]) -> Vec<Blocker> {
        let mut out = Vec::new();
        let required: [(HeaderField, &str, &str); 8] = [
            (HeaderField::EnterpriseName, "被检查单位名称", "the enterprise name"),
            (HeaderField::Uscc, "统一社会信用代码", "the unified social credit code"),
            (HeaderField::LegalRepresentative, "法定代表人", "the legal representative"),
            (HeaderField::Address, "地址", "the address"),
            (HeaderField::Place, "检查地点", "the place inspected"),
            (HeaderField::PersonInChargeName, "现场负责人姓名", "the name of the person in charge"),
            (HeaderField::PersonInChargePost, "现场负责人职务", "the post of the person in charge"),
            (HeaderField::RecorderId, "记录人", "the recorder"),
        ];
        for (field, zh, en) in required {
            if self.get(field).trim().is_empty() {
                out.push(Blocker::header(
                    field,
                    "header.field.missing",
                    Message::new(
                        format!("笔录首部缺少{zh}，请填写。"),
                        format!("The record header lacks {en}; fill it in."),
                    ),
                ));
            }
        }
        if !self.uscc.trim().is_empty()
            && let Err(e) = Uscc::parse(&self.uscc)
        {
            out.push(Blocker::header(
                HeaderField::Uscc,
                e.rule(),
                Message::new(
                    format!("统一社会信用代码无效（{}），请核对营业执照。", e.rule()),
                    format!("The unified social credit code is invalid ({e}); check the business licence."),
                ),
            ));
        }
        if !self.recorder_id.trim().is_empty() && !team.iter().any(|i| i.id == self.recorder_id) {
            out.push(Blocker::header(
                HeaderField::RecorderId,
                "header.recorder.not_on_team",
                Message::new(
                    "记录人必须是本次检查的执法人员。",
                    "The recorder must be one of this inspection's inspectors.",
                ),
            ));
        }
        if self.task_source.trim().is_empty() {
            out.push(Blocker::new(
                "header.task_source.missing",
                None,
                Message::new("笔录首部缺少任务来源。", "The record header lacks the task source."),
            ));
        }
        if self.started_at.is_none() {
            out.push(Blocker::new(
                "header.started_at.missing",
                None,
                Message::new("缺少检查开始时间，请先签到。", "The start time is missing; check in first."),
            ));
        }
        out
    }
}

use crate::explain::{ErrorClass, Explain, Explained};

/// A record operation refused, or a record that does not hold together. Every variant names the
/// rule or the part; none carries personal data or record text.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The caller supplied something malformed (`field` names it).
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The signature strokes are empty or not a plausible signature.
    #[error("signature strokes: {rule}")]
    Strokes { rule: &'static str },
    /// The signer was shown another version of the record than the current one.
    #[error("the signer saw document {shown}, but the record is now {current}")]
    StaleHash { shown: String, current: String },
    /// The record is frozen: it never changes; corrections are addenda.
    #[error("record {record_id} is frozen; {action} is not possible, add an addendum instead")]
    Frozen { record_id: String, action: &'static str },
    /// A well-formed request a rule forbids now (`rule` is stable).
    #[error("[{rule}] {detail}")]
    NotAllowed { rule: &'static str, detail: String },
    /// The record cannot be frozen yet; `missing` lists every unmet rule.
    #[error("the record cannot be frozen: {}", missing.join(", "))]
    NotReadyToFreeze { missing: Vec<&'static str> },
    /// A stored record no longer matches its own hashes.
    #[error("record {record_id}: {what}")]
    Corrupt { record_id: String, what: String },
    #[error("{what} not found")]
    NotFound { what: String },
}

impl RecordError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        RecordError::Invalid { field: field.into(), reason: reason.into() }
    }

    pub fn not_allowed(rule: &'static str, detail: impl Into<String>) -> Self {
        RecordError::NotAllowed { rule, detail: detail.into() }
    }
}

impl Explain for RecordError {
    fn explain(&self) -> Explained {
        match self {
            RecordError::Invalid { field, reason } => Explained::invalid(
                "record.invalid",
                field.clone(),
                reason.clone(),
                format!("笔录字段 {field} 不符合要求：{reason}。请更正后重试。"),
                format!("Record field {field} is not acceptable: {reason}. Correct it and try again."),
            ),
            RecordError::Strokes { rule } => Explained::invalid(
                "record.strokes",
                "strokes",
                *rule,
                format!("签名笔迹无效（{rule}），请在签名板上重新签名。"),
                format!("The signature strokes are not usable ({rule}); please sign again on the pad."),
            ),
            RecordError::StaleHash { .. } => Explained::new(
                "record.stale_hash",
                ErrorClass::NotAllowed { rule: "record.signature.stale_hash".into() },
                "笔录在显示后已被修改，签名未保存。请让签名人阅读最新版本后重新签名。",
                "The record changed after it was shown, so the signature was not kept. Let the signer read \
                 the current version and sign again.",
            ),
            RecordError::Frozen { action, .. } => Explained::new(
                "record.frozen",
                ErrorClass::NotAllowed { rule: "record.frozen".into() },
                format!("笔录已定稿，不能再修改（{action}）。如需补充，请制作补充笔录并重新签名。"),
                format!(
                    "The record is final and cannot change ({action}). Make an addendum and sign it instead."
                ),
            ),
            RecordError::NotAllowed { rule, detail } => Explained::new(
                "record.not_allowed",
                ErrorClass::NotAllowed { rule: (*rule).into() },
                format!("当前不能进行此操作（{rule}）。"),
                format!("This is not possible now ({rule}): {detail}."),
            ),
            RecordError::NotReadyToFreeze { missing } => Explained::new(
                "record.not_ready_to_freeze",
                ErrorClass::NotAllowed { rule: missing.first().copied().unwrap_or("record.freeze").into() },
                format!("笔录还不能定稿，缺少：{}。", missing.join("、")),
                format!("The record cannot be made final yet; missing: {}.", missing.join(", ")),
            ),
            RecordError::Corrupt { what, .. } => Explained::new(
                "record.corrupt",
                ErrorClass::Integrity { what: what.clone() },
                "存储的笔录与其哈希不一致，请勿继续使用该设备上的此笔录，并联系管理员。",
                "A stored record does not match its hashes. Stop using this record on this device and \
                 contact the administrator.",
            ),
            RecordError::NotFound { what } => Explained::new(
                "record.not_found",
                ErrorClass::NotFound { what: what.clone() },
                "未找到该笔录或签名，请刷新后重试。",
                "The record or signature was not found; refresh and try again.",
            ),
        }
    }
}

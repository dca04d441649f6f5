use super::{Blocker, InspectionState, RegisterProblem, UsccError};
use crate::explain::{ErrorClass, Explain, Explained};

/// A domain rule was broken (register, inspection lifecycle, findings). Every variant names the
/// field or rule; none carries personal data.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{field}: [{}] {source}", source.rule())]
    InvalidUscc { field: String, source: UsccError },
    #[error("the register has {} problem(s); first: {}", problems.len(), problems.first().map(|p| p.to_string()).unwrap_or_default())]
    Register { problems: Vec<RegisterProblem> },
    /// An operation out of order for the inspection's state.
    #[error("{action} is not allowed while the inspection is {}", from.code())]
    Transition { action: &'static str, from: InspectionState },
    /// The well-formed request is forbidden by a rule right now.
    #[error("[{rule}] {detail}")]
    NotAllowed { rule: String, detail: String },
    /// An inspector's certificate cannot be used (expired, not yet valid, uncertified, duplicated).
    #[error("inspector {inspector_id}: {rule}")]
    Certificate { inspector_id: String, rule: &'static str },
    /// Fewer than two distinct, valid certificates (requirement 1).
    #[error("{found} valid inspector certificate(s); at least two distinct ones are required")]
    TooFewInspectors { found: usize },
    /// The inspection cannot advance; `blockers` lists every reason.
    #[error("{action} is blocked by {} unmet requirement(s); first: {}", blockers.len(), blockers.first().map(|b| b.rule.as_str()).unwrap_or_default())]
    Blocked { action: &'static str, blockers: Vec<Blocker> },
    /// The record is signed: answers, header and findings no longer change (addenda only).
    #[error("{what} cannot change after the record is signed")]
    Immutable { what: String },
    #[error("{what} not found")]
    NotFound { what: String },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DomainError::Invalid { field: field.into(), reason: reason.into() }
    }

    pub fn not_allowed(rule: impl Into<String>, detail: impl Into<String>) -> Self {
        DomainError::NotAllowed { rule: rule.into(), detail: detail.into() }
    }

    /// The stable name of the broken rule.
    pub fn rule(&self) -> String {
        match self {
            DomainError::Invalid { reason, .. } => reason.clone(),
            DomainError::InvalidUscc { source, .. } => source.rule().to_owned(),
            DomainError::Register { problems } => {
                problems.first().map_or_else(|| "register.invalid".to_owned(), |p| p.rule.clone())
            }
            DomainError::Transition { .. } => "inspection.transition".to_owned(),
            DomainError::NotAllowed { rule, .. } => rule.clone(),
            DomainError::Certificate { rule, .. } => (*rule).to_owned(),
            DomainError::TooFewInspectors { .. } => "inspectors.fewer_than_two_valid".to_owned(),
            DomainError::Blocked { blockers, .. } => {
                blockers.first().map_or_else(|| "inspection.blocked".to_owned(), |b| b.rule.clone())
            }
            DomainError::Immutable { .. } => "inspection.immutable_after_signing".to_owned(),
            DomainError::NotFound { .. } => "not_found".to_owned(),
        }
    }
}

impl Explain for DomainError {
    fn explain(&self) -> Explained {
        let rule = self.rule();
        match self {
            DomainError::Invalid { field, reason } => Explained::invalid(
                "domain.invalid",
                field.clone(),
                reason.clone(),
                format!("字段 {field} 不符合规则：{reason}。请更正后重试。"),
                format!("{field} breaks a rule: {reason}. Correct it and try again."),
            ),
            DomainError::InvalidUscc { field, source } => Explained::invalid(
                "domain.invalid_uscc",
                field.clone(),
                rule,
                format!("统一社会信用代码无效（{}）。请对照营业执照逐位核对。", source.rule()),
                format!(
                    "The unified social credit code is invalid: {source}. Check it character by character against the business licence."
                ),
            ),
            DomainError::Register { problems } => Explained::invalid(
                "domain.register_invalid",
                problems.first().map_or_else(String::new, |p| p.record.clone()),
                rule,
                format!("名录有 {} 处错误，未导入。请联系名录管理员修正后重新同步。", problems.len()),
                format!(
                    "The register has {} problem(s) and was not loaded. Ask the register administrator to fix it, then sync again.",
                    problems.len()
                ),
            ),
            DomainError::Transition { action, from } => Explained::new(
                "domain.transition",
                ErrorClass::NotAllowed { rule },
                format!("当前状态“{}”下不能执行“{action}”。请按流程先完成前一步。", from.label_zh()),
                format!(
                    "“{action}” is not possible while the inspection is {}. Complete the previous step first.",
                    from.label_en()
                ),
            ),
            DomainError::NotAllowed { detail, .. } => Explained::new(
                "domain.not_allowed",
                ErrorClass::NotAllowed { rule: rule.clone() },
                format!("操作不被允许（{rule}）。请按提示处理后重试。"),
                format!("Not allowed ({rule}): {detail}."),
            ),
            DomainError::Certificate { inspector_id, rule: r } => Explained::invalid(
                "domain.certificate",
                format!("inspector:{inspector_id}"),
                *r,
                format!("执法人员 {inspector_id} 的执法证不可用（{r}）。请更换持有效执法证的人员。"),
                format!(
                    "Inspector {inspector_id}'s enforcement certificate cannot be used ({r}). Assign an inspector with a valid certificate."
                ),
            ),
            DomainError::TooFewInspectors { found } => Explained::new(
                "domain.too_few_inspectors",
                ErrorClass::NotAllowed { rule },
                format!("有效执法证只有 {found} 个，现场检查至少需要两名持不同有效执法证的执法人员。"),
                format!(
                    "Only {found} valid certificate(s): an inspection needs at least two inspectors with distinct, valid certificates."
                ),
            ),
            DomainError::Blocked { action, blockers } => Explained::new(
                "domain.blocked",
                ErrorClass::NotAllowed { rule },
                format!(
                    "还不能“{action}”：{}",
                    blockers.iter().map(|b| b.message.zh.as_str()).collect::<Vec<_>>().join("；")
                ),
                format!(
                    "Cannot “{action}” yet: {}",
                    blockers.iter().map(|b| b.message.en.as_str()).collect::<Vec<_>>().join("; ")
                ),
            ),
            DomainError::Immutable { what } => Explained::new(
                "domain.immutable",
                ErrorClass::NotAllowed { rule },
                format!("笔录已签字，{what} 不能再修改。如需补正，请制作补充笔录。"),
                format!("The record is signed; {what} can no longer change. Make an addendum instead."),
            ),
            DomainError::NotFound { what } => Explained::new(
                "domain.not_found",
                ErrorClass::NotFound { what: what.clone() },
                format!("未找到 {what}。请刷新后重试。"),
                format!("{what} was not found. Refresh and try again."),
            ),
        }
    }
}

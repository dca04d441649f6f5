//! Answers to checklist items, and the rules an answer must meet for its item's answer type.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{AnswerType, ChecklistError};

/// 检查结果 — the controlled result set of DOMAIN.md (requirement 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum ResultCode {
    /// 合格.
    Pass,
    /// 不合格.
    Fail,
    /// 不涉及 / 合理缺项.
    NotApplicable,
    /// 未检查 — needs a reason.
    NotChecked,
}

impl ResultCode {
    pub const ALL: [ResultCode; 4] =
        [ResultCode::Pass, ResultCode::Fail, ResultCode::NotApplicable, ResultCode::NotChecked];

    pub fn code(self) -> &'static str {
        match self {
            ResultCode::Pass => "pass",
            ResultCode::Fail => "fail",
            ResultCode::NotApplicable => "not_applicable",
            ResultCode::NotChecked => "not_checked",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ResultCode::Pass => "合格",
            ResultCode::Fail => "不合格",
            ResultCode::NotApplicable => "不涉及",
            ResultCode::NotChecked => "未检查",
        }
    }

    pub fn from_code(code: &str) -> Option<ResultCode> {
        ResultCode::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// An answer as entered. `type` names the variant in JSON, e.g. `{"type":"result","code":"fail"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerValue {
    Result {
        code: ResultCode,
        /// Why the item was not checked (required for 未检查), or a remark for any other result.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Number {
        value: f64,
    },
    Text {
        value: String,
    },
    SingleChoice {
        value: String,
    },
    MultipleChoice {
        values: Vec<String>,
    },
    Date {
        value: NaiveDate,
    },
}

impl AnswerValue {
    pub fn result_code(&self) -> Option<ResultCode> {
        match self {
            AnswerValue::Result { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Parses an answer sent as JSON text (the FFI's form), naming the rule when it is not valid.
    pub fn from_json(item: &str, text: &str) -> Result<AnswerValue, ChecklistError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ChecklistError::answer(item, "answer.malformed", e.to_string()))?;
        if value.get("type").and_then(|t| t.as_str()) == Some("result") {
            let code = value.get("code").and_then(|c| c.as_str()).unwrap_or_default();
            if ResultCode::from_code(code).is_none() {
                return Err(ChecklistError::answer(
                    item,
                    "answer.result.not_in_set",
                    format!("'{code}' is not one of pass, fail, not_applicable, not_checked"),
                ));
            }
        }
        serde_json::from_value(value)
            .map_err(|e| ChecklistError::answer(item, "answer.malformed", e.to_string()))
    }

    /// Whether this answer satisfies a condition value (for multiple choice: includes it).
    pub fn matches(&self, expected: &serde_json::Value) -> bool {
        match self {
            AnswerValue::Result { code, .. } => expected.as_str() == Some(code.code()),
            AnswerValue::Number { value } => expected.as_f64() == Some(*value),
            AnswerValue::Text { value } | AnswerValue::SingleChoice { value } => {
                expected.as_str() == Some(value.as_str())
            }
            AnswerValue::MultipleChoice { values } => {
                expected.as_str().is_some_and(|e| values.iter().any(|v| v == e))
            }
            AnswerValue::Date { value } => expected.as_str() == Some(value.to_string().as_str()),
        }
    }

    /// A short display form for read models ("不合格", "35.2", "2025-03-01", "a, b").
    pub fn display(&self) -> String {
        match self {
            AnswerValue::Result { code, .. } => code.label_zh().to_owned(),
            AnswerValue::Number { value } => value.to_string(),
            AnswerValue::Text { value } | AnswerValue::SingleChoice { value } => value.clone(),
            AnswerValue::MultipleChoice { values } => values.join(", "),
            AnswerValue::Date { value } => value.to_string(),
        }
    }
}

/// Checks `value` against the item's answer type: the right kind, from the allowed set, within
/// limits, and 未检查 with a reason.
pub fn check_answer(item: &str, spec: &AnswerType, value: &AnswerValue) -> Result<(), ChecklistError> {
    let fail = |rule: &'static str, detail: String| Err(ChecklistError::answer(item, rule, detail));
    match (spec, value) {
        (AnswerType::Result, AnswerValue::Result { code, reason }) => {
            let has_reason = reason.as_deref().is_some_and(|r| !r.trim().is_empty());
            if *code == ResultCode::NotChecked && !has_reason {
                return fail("answer.not_checked.reason_required", "not checked needs a reason".into());
            }
            Ok(())
        }
        (AnswerType::Number { min, max, unit }, AnswerValue::Number { value }) => {
            if !value.is_finite() {
                return fail("answer.number.not_finite", "the value must be a finite number".into());
            }
            if let Some(min) = min.filter(|m| value < m) {
                return fail(
                    "answer.number.below_min",
                    format!("{value} {unit} is below the minimum {min} {unit}"),
                );
            }
            if let Some(max) = max.filter(|m| value > m) {
                return fail(
                    "answer.number.above_max",
                    format!("{value} {unit} is above the maximum {max} {unit}"),
                );
            }
            Ok(())
        }
        (AnswerType::Text { .. }, AnswerValue::Text { value }) => {
            if value.trim().is_empty() {
                return fail("answer.text.empty", "the text is empty".into());
            }
            Ok(())
        }
        (AnswerType::SingleChoice { options }, AnswerValue::SingleChoice { value }) => {
            if !options.iter().any(|o| &o.value == value) {
                return fail("answer.choice.unknown_option", format!("'{value}' is not an option"));
            }
            Ok(())
        }
        (AnswerType::MultipleChoice { options }, AnswerValue::MultipleChoice { values }) => {
            if values.is_empty() {
                return fail("answer.choice.none_selected", "select at least one option".into());
            }
            for (i, v) in values.iter().enumerate() {
                if !options.iter().any(|o| &o.value == v) {
                    return fail("answer.choice.unknown_option", format!("'{v}' is not an option"));
                }
                if values[..i].contains(v) {
                    return fail("answer.choice.duplicate", format!("'{v}' is selected twice"));
                }
            }
            Ok(())
        }
        (AnswerType::Date, AnswerValue::Date { .. }) => Ok(()),
        _ => fail("answer.type_mismatch", format!("the item takes a {} answer", spec.type_name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_outside_the_controlled_set_is_rejected_by_name() {
        let err = AnswerValue::from_json("a1", r#"{"type":"result","code":"maybe"}"#).unwrap_err();
        assert_eq!(err.rule(), "answer.result.not_in_set");
        let ok = AnswerValue::from_json("a1", r#"{"type":"result","code":"fail"}"#).unwrap();
        assert_eq!(ok.result_code(), Some(ResultCode::Fail));
    }

    #[test]
    fn number_limits_are_inclusive() {
        let spec = AnswerType::Number { unit: "无量纲".into(), min: Some(0.0), max: Some(14.0) };
        assert!(check_answer("ph", &spec, &AnswerValue::Number { value: 14.0 }).is_ok());
        let err = check_answer("ph", &spec, &AnswerValue::Number { value: 14.1 }).unwrap_err();
        assert_eq!(err.rule(), "answer.number.above_max");
        let err = check_answer("ph", &spec, &AnswerValue::Number { value: -0.1 }).unwrap_err();
        assert_eq!(err.rule(), "answer.number.below_min");
    }
}

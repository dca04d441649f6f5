//! How a failure is told to a person, and the one error that leaves the core.
//!
//! A leaf module: every module's error implements [`Explain`] here without importing the others, so
//! `error.rs` can gather them without a loop. [`Explained`] is a stable code, the class a UI can act
//! on, and a message in Chinese and English that never contains evidence or personal data.
//! [`FieldsealError`] is that explanation as Kotlin and Swift receive it (`FieldsealException` /
//! `FieldsealError`); `code()`, `message_zh()` and `message_en()` read the same on every variant.

/// What a user interface can do about a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// The caller supplied something malformed; `field` names it, `reason` says which rule it broke.
    InvalidInput { field: String, reason: String },
    /// The request is well-formed but a domain rule forbids it now (a transition out of order...).
    NotAllowed { rule: String },
    /// The thing asked for does not exist.
    NotFound { what: String },
    /// Stored or received data failed a hash, signature or AEAD check: possible tampering.
    Integrity { what: String },
    /// The disk or database failed; the message says whether space or permissions are to blame.
    Storage,
    /// The data key or signing key could not be used (wrong key, keystore locked or wiped).
    KeyUnavailable,
    /// A network failure; `retryable` is false when a person must act first.
    Network { retryable: bool },
    /// The operation was cancelled by the caller; nothing was half-written.
    Cancelled,
    /// A bug: an invariant the code relies on did not hold.
    Internal,
}

/// A failure explained for a person: stable code, class, and bilingual text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// Stable, machine-readable code such as `store.schema_too_new`; never reworded.
    pub code: &'static str,
    pub class: ErrorClass,
    /// 中文说明：发生了什么、下一步怎么做。
    pub message_zh: String,
    /// English: what happened and what to do next.
    pub message_en: String,
}

impl Explained {
    pub fn new(
        code: &'static str,
        class: ErrorClass,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Self { code, class, message_zh: message_zh.into(), message_en: message_en.into() }
    }

    /// Shorthand for the most common class: a named field broke a named rule.
    pub fn invalid(
        code: &'static str,
        field: impl Into<String>,
        reason: impl Into<String>,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Self::new(
            code,
            ErrorClass::InvalidInput { field: field.into(), reason: reason.into() },
            message_zh,
            message_en,
        )
    }
}

/// Implemented by every module error: how to tell a person about it.
pub trait Explain {
    fn explain(&self) -> Explained;
}

/// 错误 — every failure the app can see. Each carries a stable `code` (for analytics and support) and
/// a message in Chinese and English saying what happened and what to do next; read them with
/// [`FieldsealError::code`], [`FieldsealError::message_zh`] and [`FieldsealError::message_en`]
/// whatever the variant. The variants are what a screen acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
pub enum FieldsealError {
    #[error("{message_en}")]
    InvalidInput { code: String, field: String, reason: String, message_zh: String, message_en: String },
    #[error("{message_en}")]
    NotAllowed { code: String, rule: String, message_zh: String, message_en: String },
    #[error("{message_en}")]
    NotFound { code: String, what: String, message_zh: String, message_en: String },
    #[error("{message_en}")]
    Integrity { code: String, what: String, message_zh: String, message_en: String },
    #[error("{message_en}")]
    Storage { code: String, message_zh: String, message_en: String },
    #[error("{message_en}")]
    KeyUnavailable { code: String, message_zh: String, message_en: String },
    #[error("{message_en}")]
    Network { code: String, retryable: bool, message_zh: String, message_en: String },
    #[error("{message_en}")]
    Cancelled { code: String, message_zh: String, message_en: String },
    #[error("{message_en}")]
    Internal { code: String, message_zh: String, message_en: String },
}

impl From<Explained> for FieldsealError {
    fn from(e: Explained) -> Self {
        let code = e.code.to_owned();
        let (message_zh, message_en) = (e.message_zh, e.message_en);
        match e.class {
            ErrorClass::InvalidInput { field, reason } => {
                FieldsealError::InvalidInput { code, field, reason, message_zh, message_en }
            }
            ErrorClass::NotAllowed { rule } => {
                FieldsealError::NotAllowed { code, rule, message_zh, message_en }
            }
            ErrorClass::NotFound { what } => FieldsealError::NotFound { code, what, message_zh, message_en },
            ErrorClass::Integrity { what } => {
                FieldsealError::Integrity { code, what, message_zh, message_en }
            }
            ErrorClass::Storage => FieldsealError::Storage { code, message_zh, message_en },
            ErrorClass::KeyUnavailable => FieldsealError::KeyUnavailable { code, message_zh, message_en },
            ErrorClass::Network { retryable } => {
                FieldsealError::Network { code, retryable, message_zh, message_en }
            }
            ErrorClass::Cancelled => FieldsealError::Cancelled { code, message_zh, message_en },
            ErrorClass::Internal => FieldsealError::Internal { code, message_zh, message_en },
        }
    }
}

#[cfg_attr(feature = "uniffi", uniffi::export)]
impl FieldsealError {
    /// The stable, machine-readable code (`store.schema_too_new`...); never reworded.
    pub fn code(&self) -> String {
        self.parts().0.to_owned()
    }

    /// 中文说明：发生了什么、下一步怎么做。
    pub fn message_zh(&self) -> String {
        self.parts().1.to_owned()
    }

    /// English: what happened and what to do next.
    pub fn message_en(&self) -> String {
        self.parts().2.to_owned()
    }
}

impl FieldsealError {
    fn parts(&self) -> (&str, &str, &str) {
        match self {
            FieldsealError::InvalidInput { code, message_zh, message_en, .. }
            | FieldsealError::NotAllowed { code, message_zh, message_en, .. }
            | FieldsealError::NotFound { code, message_zh, message_en, .. }
            | FieldsealError::Integrity { code, message_zh, message_en, .. }
            | FieldsealError::Storage { code, message_zh, message_en }
            | FieldsealError::KeyUnavailable { code, message_zh, message_en }
            | FieldsealError::Network { code, message_zh, message_en, .. }
            | FieldsealError::Cancelled { code, message_zh, message_en }
            | FieldsealError::Internal { code, message_zh, message_en } => (code, message_zh, message_en),
        }
    }

    /// A panic at the boundary. Its text goes to the log, never into the message: a panic message
    /// may quote decrypted data.
    pub fn internal_panic(panic_text: &str) -> Self {
        log::error!("fieldseal: contained a panic: {panic_text}");
        FieldsealError::Internal {
            code: "internal.panic".into(),
            message_zh: "内部错误，操作未完成，已保存的数据不受影响。请重试，并将此情况报告开发人员。".into(),
            message_en: "Internal error; the operation did not complete and saved data is unaffected. Retry, and report this to the developers.".into(),
        }
    }

    /// The caller stopped waiting for a long operation.
    pub fn cancelled() -> Self {
        FieldsealError::Cancelled {
            code: "cancelled".into(),
            message_zh: "操作已取消，未保存任何半成品。".into(),
            message_en: "The operation was cancelled; nothing half-written was saved.".into(),
        }
    }

    /// A value the app sent in is not in the form the core expects (a date, a time).
    pub fn malformed_text(what: &str, form: &str) -> Self {
        FieldsealError::InvalidInput {
            code: "input.malformed".into(),
            field: what.into(),
            reason: format!("{what}.malformed"),
            message_zh: format!("{what} 的格式不正确，应为 {form}。请更正后重试。"),
            message_en: format!("The {what} is not in the expected form ({form}). Correct it and retry."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_reads_its_code_and_messages_the_same_way() {
        let e: FieldsealError = Explained::invalid("x.y", "f", "r", "中文", "English").into();
        assert_eq!(
            (e.code(), e.message_zh(), e.message_en()),
            ("x.y".into(), "中文".into(), "English".into())
        );
        let e = FieldsealError::cancelled();
        assert_eq!(e.code(), "cancelled");
        assert!(!e.message_en().is_empty());
    }

    #[test]
    fn panic_text_never_reaches_the_message() {
        let e = FieldsealError::internal_panic("decrypted name 张三");
        assert!(!e.message_zh().contains("张三") && !e.message_en().contains("张三"), "{e:?}");
    }
}

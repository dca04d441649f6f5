//! The one conversion from the core's rich errors to what a screen can act on.

use fieldseal_core::error::{ErrorClass, Explained};

/// Every failure the app can see. Each carries a stable `code` (for analytics and support) and a
/// message in Chinese and English saying what happened and what to do next.
#[derive(Debug, thiserror::Error, uniffi::Error)]
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

impl From<fieldseal_core::Error> for FieldsealError {
    fn from(e: fieldseal_core::Error) -> Self {
        e.explain().into()
    }
}

impl FieldsealError {
    pub(crate) fn internal(detail: &str) -> Self {
        FieldsealError::Internal {
            code: "internal.panic".into(),
            message_zh: "内部错误，操作未完成，已保存的数据不受影响。请重试，并将此情况报告开发人员。".into(),
            message_en: format!(
                "Internal error ({detail}); the operation did not complete and saved data is unaffected. Retry, and report this to the developers."
            ),
        }
    }

    pub(crate) fn invalid_input(field: &str, reason: &str, message_zh: String, message_en: String) -> Self {
        FieldsealError::InvalidInput {
            code: "input.invalid".into(),
            field: field.into(),
            reason: reason.into(),
            message_zh,
            message_en,
        }
    }
}

/// What a platform adapter (Keystore, Keychain, signature pad) reports when it fails.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PlatformError {
    /// The key or device is not usable right now (locked, user not authenticated, key invalidated).
    #[error("platform key unavailable: {reason}")]
    Unavailable { reason: String },
    /// The platform operation failed for another reason.
    #[error("platform operation failed: {reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for PlatformError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        PlatformError::Failed { reason: e.reason }
    }
}

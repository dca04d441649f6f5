//! Refusals and failures, each with a stable reason code, an HTTP status and a message in Chinese
//! and English that says what happened and what to do. Internal causes (the SQL error, the path) are
//! logged, never sent: a response carries no evidence content and no personal data.

use axum::{
    Json,
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use fieldseal_core::protocol::tus::{HEADER_TUS_RESUMABLE, STATUS_CHECKSUM_MISMATCH, TUS_VERSION};
use serde_json::json;

pub type Result<T, E = IntakeError> = std::result::Result<T, E>;

/// Why intake refused a request (4xx) or could not serve it (5xx).
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The request itself is refused; `code` names the rule.
    #[error("{code}: {detail}")]
    Refused { status: StatusCode, code: &'static str, detail: String },
    /// Storage (database or blob store) failed; the request may be retried.
    #[error("storage: {0}")]
    Storage(String),
    /// A bug or an impossible state.
    #[error("internal: {0}")]
    Internal(String),
}

impl IntakeError {
    pub fn refused(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        IntakeError::Refused { status, code, detail: detail.into() }
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::UNAUTHORIZED, code, detail)
    }
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::FORBIDDEN, code, detail)
    }
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::CONFLICT, code, detail)
    }
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::NOT_FOUND, code, detail)
    }
    pub fn checksum_mismatch(detail: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(STATUS_CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST);
        Self::refused(status, "tus.checksum_mismatch", detail)
    }
    pub fn storage(cause: impl std::fmt::Display) -> Self {
        IntakeError::Storage(cause.to_string())
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        IntakeError::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            IntakeError::Refused { status, .. } => *status,
            IntakeError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            IntakeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            IntakeError::Refused { code, .. } => code,
            IntakeError::Storage(_) => "storage.unavailable",
            IntakeError::Internal(_) => "internal",
        }
    }
}

/// The message a person reads for each reason code: (中文, English).
pub fn message(code: &str) -> (&'static str, &'static str) {
    match code {
        "auth.missing_token" => (
            "请求缺少访问令牌。请先用设备密钥签署挑战以获取令牌，再重试。",
            "The request carries no access token. Obtain one by signing a challenge with the device key, then retry.",
        ),
        "auth.bad_token" => (
            "访问令牌无效或已过期。请重新签署挑战以获取新令牌。",
            "The access token is unknown or has expired. Sign a new challenge to obtain a fresh token.",
        ),
        "auth.device_revoked" => (
            "该设备已被吊销，不能再上传或同步。请联系管理员重新注册设备。",
            "This device has been revoked and can no longer upload or sync. Ask your administrator to enrol the device again.",
        ),
        "auth.unknown_device" => (
            "服务器不认识该设备。请先用注册码注册设备。",
            "The server does not know this device. Enrol it with an enrolment code first.",
        ),
        "auth.challenge_unknown" => (
            "挑战值无效或已被使用。请重新申请挑战再签署。",
            "The challenge is unknown or was already used. Request a new challenge and sign it.",
        ),
        "auth.challenge_expired" => (
            "挑战值已过期。请重新申请挑战再签署。",
            "The challenge has expired. Request a new challenge and sign it.",
        ),
        "auth.bad_signature" => (
            "签名验证失败：该请求不是由已注册的设备密钥签署的。请检查设备密钥，必要时重新注册。",
            "The signature does not verify: the request was not signed by the enrolled device key. Check the device key, or enrol again.",
        ),
        "admin.unauthorized" => ("管理接口需要有效的管理令牌。", "The admin API needs a valid admin token."),
        "enrol.code_unknown" => (
            "注册码不存在。请核对注册码，或请管理员重新签发。",
            "The enrolment code does not exist. Check it, or ask your administrator for a new one.",
        ),
        "enrol.code_used" => (
            "注册码已被使用，每个注册码只能使用一次。请管理员重新签发。",
            "The enrolment code was already used; each code works once. Ask your administrator for a new one.",
        ),
        "enrol.code_expired" => (
            "注册码已过期。请管理员重新签发。",
            "The enrolment code has expired. Ask your administrator for a new one.",
        ),
        "enrol.key_already_enrolled" => (
            "该设备密钥已经注册过。请直接使用已注册的设备，或生成新密钥后再注册。",
            "This device key is already enrolled. Use the enrolled device, or generate a new key before enrolling.",
        ),
        "enrol.inspector_unknown" => (
            "名录中没有该执法人员。请先导入名录。",
            "The register has no such inspector. Import the register first.",
        ),
        "request.malformed" => (
            "请求内容格式错误，无法解析。请升级应用或报告管理员。",
            "The request body is malformed and cannot be read. Update the app or report it to your administrator.",
        ),
        "request.too_large" => (
            "请求体超过服务器允许的大小。请分块上传或报告管理员。",
            "The request body is larger than the server accepts. Upload in smaller chunks or report it to your administrator.",
        ),
        "request.bad_header" => (
            "请求头缺失或格式错误。请升级应用或报告管理员。",
            "A request header is missing or malformed. Update the app or report it to your administrator.",
        ),
        "tus.unsupported_version" => (
            "上传协议版本不受支持（需要 tus 1.0.0）。请升级应用。",
            "The upload protocol version is not supported (tus 1.0.0 is required). Update the app.",
        ),
        "tus.offset_mismatch" => (
            "上传偏移量与服务器记录不一致。请先查询服务器上的偏移量再继续上传。",
            "The upload offset does not match the server's. Ask the server for its offset (HEAD) and continue from there.",
        ),
        "tus.checksum_mismatch" => (
            "数据块校验值不一致，传输中可能出错，服务器未保存该数据块。请重新发送该数据块。",
            "The chunk's checksum does not match; it was probably damaged in transit and was not kept. Send the chunk again.",
        ),
        "tus.wrong_content_type" => (
            "上传数据块的内容类型必须是 application/offset+octet-stream。",
            "An upload chunk must be sent as application/offset+octet-stream.",
        ),
        "tus.unknown_upload" => (
            "服务器上没有这个上传。请重新创建上传。",
            "The server has no such upload. Create the upload again.",
        ),
        "tus.beyond_length" => (
            "数据超出了创建上传时声明的长度。请重新创建上传。",
            "The data goes beyond the length declared when the upload was created. Create the upload again.",
        ),
        "tus.bad_metadata" => (
            "上传元数据缺失或格式错误（需要声明文件的 SHA-256）。请升级应用。",
            "The upload metadata is missing or malformed (the file's SHA-256 must be declared). Update the app.",
        ),
        "upload.sha256_mismatch" => (
            "上传完成的文件哈希与声明的 SHA-256 不一致，服务器未保存。请从本机原件重新上传；若再次失败，请报告管理员。",
            "The uploaded file's hash does not match the declared SHA-256, so nothing was kept. Upload it again from the device's copy; if it fails again, report it to your administrator.",
        ),
        "statement.malformed" => (
            "提交的签名数据格式错误，服务器未保存。请升级应用或报告管理员。",
            "The submitted signed statement is malformed and was not kept. Update the app or report it to your administrator.",
        ),
        "statement.bad_signature" => (
            "签名验证失败：内容或签名在签署后发生了变化，服务器未保存。请报告管理员。",
            "The signature does not verify: the content or the signature changed after signing, so nothing was kept. Report it to your administrator.",
        ),
        "statement.foreign_key" => (
            "该数据不是由本设备的注册密钥签署的，服务器未保存。请从签署它的设备上传。",
            "This statement was not signed by this device's enrolled key, so nothing was kept. Upload it from the device that signed it.",
        ),
        "statement.conflict" => (
            "同一编号已经提交过不同的内容，服务器保留原内容、未保存本次提交。请报告管理员。",
            "Different content was already submitted under this id; the server keeps the first and did not store this one. Report it to your administrator.",
        ),
        "evidence.blob_missing" => (
            "证据清单所指的文件尚未上传完成。请先上传文件，再提交清单。",
            "The file the manifest names has not been uploaded yet. Upload the file first, then submit the manifest.",
        ),
        "evidence.size_mismatch" => (
            "证据清单记录的文件大小与服务器收到的文件不一致，服务器未保存。请报告管理员。",
            "The size in the manifest differs from the file the server received, so nothing was kept. Report it to your administrator.",
        ),
        "evidence.bad_hash" => (
            "证据清单中的哈希值格式错误，服务器未保存。请升级应用或报告管理员。",
            "The hash in the manifest is malformed, so nothing was kept. Update the app or report it to your administrator.",
        ),
        "catalog.invalid" => (
            "导入的数据未通过校验。请按提示修正后重新导入。",
            "The imported data did not pass validation. Correct it as described and import again.",
        ),
        "not_found" => ("请求的资源不存在。", "The requested resource does not exist."),
        "storage.unavailable" => (
            "服务器存储暂时不可用，数据未保存。请稍后重试。",
            "The server's storage is temporarily unavailable and nothing was stored. Try again later.",
        ),
        _ => (
            "服务器内部错误，数据未保存。请稍后重试；若持续出现，请报告管理员。",
            "An internal server error occurred and nothing was stored. Try again later; if it persists, report it to your administrator.",
        ),
    }
}

impl IntoResponse for IntakeError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        match &self {
            IntakeError::Refused { detail, .. } => {
                tracing::info!(code, status = status.as_u16(), detail, "refused")
            }
            other => tracing::error!(code, error = %other, "failed"),
        }
        let detail = match &self {
            IntakeError::Refused { detail, .. } => detail.clone(),
            _ => String::new(),
        };
        let (zh, en) = message(code);
        let mut response = (
            status,
            Json(json!({"error": {"code": code, "message_zh": zh, "message_en": en, "detail": detail}})),
        )
            .into_response();
        // tus clients expect the header on every response, refusals included.
        response.headers_mut().insert(HEADER_TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
        response
    }
}

impl From<fieldseal_core::Error> for IntakeError {
    /// Core failures reaching intake come from reading what a device sent.
    fn from(e: fieldseal_core::Error) -> Self {
        use fieldseal_core::{Error, protocol::ProtocolError};
        match e {
            Error::Protocol(ProtocolError::BadSignature { .. }) => {
                IntakeError::unprocessable("statement.bad_signature", e.to_string())
            }
            Error::Protocol(ProtocolError::KeyIdMismatch { .. }) => {
                IntakeError::forbidden("statement.foreign_key", e.to_string())
            }
            _ => IntakeError::bad_request("statement.malformed", e.to_string()),
        }
    }
}

//! What can go wrong talking to intake, kept rich for the log and sorted by what helps: waiting and
//! trying again (network, 5xx), or a person acting (a refusal, a receipt that does not verify).

use crate::explain::{ErrorClass, Explain, Explained};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The request did not complete: no connection, reset, timeout, body cut off.
    #[error("{during}: network failure: {source}")]
    Transport {
        during: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// Intake answered with an error status; `code` is its stable reason code.
    #[error("{during}: intake answered {status} {code}: {detail}")]
    Server { during: &'static str, status: u16, code: String, detail: String },
    /// The answer could not be read (truncated, not JSON, a header missing).
    #[error("{during}: unreadable answer: {reason}")]
    BadResponse { during: &'static str, reason: String },
    /// A receipt that does not verify under the enrolled server key, or names something else.
    #[error("receipt for {object_id} refused: {reason}")]
    ReceiptRefused { object_id: String, reason: &'static str },
    /// Nothing can be sent before the installation is enrolled.
    #[error("not enrolled with an intake service")]
    NotEnrolled,
    /// The trust configuration given by the app is unusable.
    #[error("TLS configuration: {reason}")]
    Tls { reason: String },
    /// The server's certificate does not chain to the pinned roots (or names another host): a
    /// wrong address, a misconfigured server, or someone in between. Never retried blindly.
    #[error("{during}: server certificate not trusted: {reason}")]
    UntrustedServer { during: &'static str, reason: String },
    /// Intake revoked this device (its key is in the revocation feed, or its token request was
    /// refused as revoked): nothing more can be sent or pulled until it is enrolled again.
    #[error("this device was revoked by intake")]
    DeviceRevoked,
    /// A pulled task, template or register this terminal cannot accept (a newer format, or a
    /// template that fails validation); the page it came in was not applied.
    #[error("pulled {kind} {id} refused: {reason}")]
    PulledItemRefused { kind: &'static str, id: String, reason: String },
    /// Plain HTTP to anything but a loopback address.
    #[error("plain HTTP refused for {url}")]
    PlainHttpRefused { url: String },
}

impl SyncError {
    /// True when waiting and trying again can succeed without anyone acting.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Transport { .. } | SyncError::BadResponse { .. } => true,
            // Timeouts, rate limiting, server trouble and a chunk damaged on the way (tus 460,
            // checksum mismatch) pass; other refusals need a person.
            SyncError::Server { status, .. } => {
                *status >= 500
                    || matches!(*status, 408 | 429 | crate::protocol::tus::STATUS_CHECKSUM_MISMATCH)
            }
            _ => false,
        }
    }

    /// The server's reason code, when intake refused.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            SyncError::Server { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl Explain for SyncError {
    fn explain(&self) -> Explained {
        let network = |retryable| ErrorClass::Network { retryable };
        match self {
            SyncError::Transport { .. } | SyncError::BadResponse { .. } => Explained::new(
                "sync.network",
                network(true),
                "与省级系统的连接中断。数据仍安全保存在本机，网络恢复后会自动续传。",
                "The connection to the provincial system was interrupted. Everything is still safe on this device and will resume automatically when the network is back.",
            ),
            SyncError::Server { status, .. } if self.is_transient() => Explained::new(
                "sync.server_busy",
                network(true),
                format!("省级系统暂时无法处理（{status}）。数据仍保存在本机，稍后会自动重试。"),
                format!(
                    "The provincial system cannot take the upload right now ({status}). Everything is still on this device; it will retry later."
                ),
            ),
            SyncError::Server { code, .. } => Explained::new(
                "sync.refused",
                network(false),
                format!("省级系统拒绝了此次上传（{code}）。证据仍保存在本机，请联系系统管理员处理后重试。"),
                format!(
                    "The provincial system refused this upload ({code}). The evidence is still on this device; ask your administrator to resolve it, then retry."
                ),
            ),
            SyncError::ReceiptRefused { .. } => Explained::new(
                "sync.receipt_refused",
                ErrorClass::Integrity { what: "receipt".into() },
                "省级系统返回的回执无法验证，因此本机副本不会被释放。请联系系统管理员核对服务器配置。",
                "The receipt from the provincial system could not be verified, so the copy on this device is kept. Ask your administrator to check the server configuration.",
            ),
            SyncError::NotEnrolled => Explained::new(
                "sync.not_enrolled",
                network(false),
                "本设备尚未在省级系统注册。请向管理员索取注册码并完成注册。",
                "This device is not enrolled with the provincial system yet. Ask your administrator for an enrolment code and enrol it.",
            ),
            SyncError::Tls { .. } => Explained::new(
                "sync.tls_config",
                network(false),
                "省级系统的证书配置无效，无法建立安全连接。请联系系统管理员。",
                "The provincial system's certificate configuration is invalid, so no secure connection can be made. Contact your administrator.",
            ),
            SyncError::UntrustedServer { .. } => Explained::new(
                "sync.untrusted_server",
                network(false),
                "服务器的证书不是本省配置的证书，连接已中止，数据未发送。请确认网络和服务器地址，或联系系统管理员。",
                "The server's certificate is not the one configured for this province, so the connection was stopped and nothing was sent. Check the network and server address, or contact your administrator.",
            ),
            SyncError::DeviceRevoked => Explained::new(
                "sync.device_revoked",
                network(false),
                "本设备已被省级系统注销，无法再上传或接收任务。本机数据仍完整保存；请联系系统管理员重新注册本设备。",
                "The provincial system has revoked this device, so it can no longer upload or receive tasks. Everything on it is kept; ask your administrator to enrol the device again.",
            ),
            SyncError::PulledItemRefused { kind, .. } => Explained::new(
                "sync.pulled_item_refused",
                network(false),
                format!(
                    "从省级系统下载的{}无法在本机使用，本次下载未保存。请更新应用，或联系系统管理员检查该内容。",
                    kind_zh(kind)
                ),
                format!(
                    "A {kind} downloaded from the provincial system cannot be used on this device, so this download was not saved. Update the app, or ask your administrator to check it."
                ),
            ),
            SyncError::PlainHttpRefused { .. } => Explained::new(
                "sync.plain_http",
                network(false),
                "只允许通过加密连接（HTTPS）与省级系统通信。请检查服务器地址。",
                "Only encrypted connections (HTTPS) to the provincial system are allowed. Check the server address.",
            ),
        }
    }
}

fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "task" => "检查任务",
        "template" => "检查清单",
        "register" => "名录",
        _ => "内容",
    }
}

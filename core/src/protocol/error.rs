use crate::explain::{ErrorClass, Explain, Explained};

/// Why a JSON number has no canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberIssue {
    /// NaN or an infinity: JSON cannot carry them and RFC 8785 forbids them.
    NotFinite,
    /// An integer beyond ±2^53 whose decimal digits would change when read as an IEEE-754 double
    /// (which is how every JCS implementation and every JavaScript verifier reads it).
    IntegerOutOfRange,
}

impl std::fmt::Display for NumberIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NumberIssue::NotFinite => "not a finite number",
            NumberIssue::IntegerOutOfRange => "integer outside ±2^53 that does not survive a double",
        })
    }
}

/// Failures of the wire formats: canonical JSON and signed envelopes.
///
/// Messages name the part of a document (a JSON pointer, "envelope signature") but never its content.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Received text is not the expected structure (bad JSON, duplicate key, missing or extra field).
    #[error("malformed {what}: {reason}")]
    Malformed { what: String, reason: String },
    /// The app asked to sign text that is not one JSON object (its own input, not received data).
    #[error("the statement to sign is not a JSON object: {reason}")]
    StatementNotJson { reason: String },
    /// A number cannot be written canonically, so nothing containing it can be signed or verified.
    /// `path` is a JSON pointer to it (`/readings/3`).
    #[error("number at {path:?} cannot be canonicalized: {issue}")]
    NonCanonicalNumber { path: String, issue: NumberIssue },
    /// A base64url field is not the strict, unpadded encoding of any byte string.
    #[error("{what} is not valid base64url: {reason}")]
    BadBase64 { what: &'static str, reason: &'static str },
    /// The envelope names a signature algorithm this version does not accept.
    #[error("unsupported signature algorithm {found:?} (expected ES256)")]
    WrongAlgorithm { found: String },
    /// The envelope claims a signing key other than the one it is being verified against.
    #[error("envelope key id {found} does not match the public key's {expected}")]
    KeyIdMismatch { expected: String, found: String },
    /// The signature does not verify over the canonical signing input: the payload, or the
    /// signature, changed after signing.
    #[error("signature over {what} does not verify")]
    BadSignature { what: &'static str },
}

impl ProtocolError {
    pub fn malformed(what: impl Into<String>, reason: impl Into<String>) -> Self {
        ProtocolError::Malformed { what: what.into(), reason: reason.into() }
    }
}

/// Attacker-chosen strings are echoed only shortened, so a message cannot become a carrier.
fn clip(s: &str) -> String {
    const MAX: usize = 16;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

impl Explain for ProtocolError {
    fn explain(&self) -> Explained {
        match self {
            // `reason` is the parser's text, which can quote the input: logged, never shown.
            ProtocolError::Malformed { what, .. } => Explained::new(
                "protocol.malformed",
                ErrorClass::Integrity { what: what.clone() },
                format!("{what} 格式错误。数据可能已损坏或来自不兼容的版本，请勿使用并报告管理员。"),
                format!(
                    "{what} is malformed. It may be damaged or from an incompatible version; do not use it and report it to your administrator."
                ),
            ),
            ProtocolError::StatementNotJson { .. } => Explained::invalid(
                "protocol.statement_not_json",
                "payload_json",
                "not a JSON object",
                "要签名的内容不是有效的 JSON 对象。请检查后重试。",
                "The statement to sign is not a valid JSON object. Check it and retry.",
            ),
            ProtocolError::NonCanonicalNumber { path, issue } => {
                let reason = match issue {
                    NumberIssue::NotFinite => "not_finite",
                    NumberIssue::IntegerOutOfRange => "integer_out_of_range",
                };
                Explained::invalid(
                    "protocol.non_canonical_number",
                    path.clone(),
                    reason,
                    format!(
                        "字段 {path} 的数值无法规范化（超出 ±2^53 的整数或非有限数），因此不能签名。请改用字符串表示该值，或联系开发人员。"
                    ),
                    format!(
                        "The number at {path} cannot be canonicalized (an integer beyond ±2^53, or not finite), so it cannot be signed. Carry the value as a string, or contact the developers."
                    ),
                )
            }
            ProtocolError::BadBase64 { what, reason } => Explained::new(
                "protocol.bad_base64",
                ErrorClass::Integrity { what: (*what).to_owned() },
                format!(
                    "{what} 不是有效的 base64url 编码（{reason}），数据可能已损坏或被篡改。请勿使用并报告管理员。"
                ),
                format!(
                    "{what} is not valid base64url ({reason}); the data may be damaged or altered. Do not use it; report it to your administrator."
                ),
            ),
            ProtocolError::WrongAlgorithm { found } => {
                let found = clip(found);
                Explained::new(
                    "protocol.wrong_alg",
                    ErrorClass::Integrity { what: "envelope alg".to_owned() },
                    format!(
                        "签名信封使用了不支持的算法 “{found}”（应为 ES256），无法验证。请升级应用或报告管理员。"
                    ),
                    format!(
                        "The signed envelope uses the unsupported algorithm \"{found}\" (expected ES256) and cannot be verified. Update the app or report it to your administrator."
                    ),
                )
            }
            ProtocolError::KeyIdMismatch { .. } => Explained::new(
                "protocol.key_id_mismatch",
                ErrorClass::Integrity { what: "envelope key_id".to_owned() },
                "签名信封声明的签名密钥与用于验证的设备公钥不一致：它不是由该设备签署的。请勿采信，并报告管理员。",
                "The signed envelope names a different signing key than the device key it is checked against: this device did not sign it. Do not rely on it; report it to your administrator.",
            ),
            ProtocolError::BadSignature { what } => Explained::new(
                "protocol.bad_signature",
                ErrorClass::Integrity { what: (*what).to_owned() },
                format!("{what} 的签名验证失败：内容或签名在签署后被改动。请勿采信，并报告管理员。"),
                format!(
                    "The signature on {what} does not verify: the content or the signature changed after signing. Do not rely on it; report it to your administrator."
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_error_explains_itself_in_both_languages_without_echoing_long_input() {
        let long = "x".repeat(500);
        let all = [
            ProtocolError::malformed("envelope", "missing field `alg`"),
            ProtocolError::NonCanonicalNumber { path: "/a/0".into(), issue: NumberIssue::NotFinite },
            ProtocolError::BadBase64 { what: "envelope signature", reason: "bad length" },
            ProtocolError::WrongAlgorithm { found: long.clone() },
            ProtocolError::KeyIdMismatch { expected: "00".into(), found: "11".into() },
            ProtocolError::BadSignature { what: "envelope" },
        ];
        let mut codes = std::collections::HashSet::new();
        for e in &all {
            let x = e.explain();
            assert!(x.code.starts_with("protocol."));
            assert!(codes.insert(x.code), "codes must be distinct: {}", x.code);
            assert!(!x.message_zh.is_empty() && !x.message_en.is_empty());
            assert!(!x.message_en.contains(&long) && !x.message_zh.contains(&long));
        }
        assert!(matches!(
            ProtocolError::BadSignature { what: "envelope" }.explain().class,
            ErrorClass::Integrity { .. }
        ));
    }
}

//! 设备注册 — enrolment: a one-time code, a proof of possession, a device certificate.

use axum::http::StatusCode;
use fieldseal_core::protocol::{
    SignedEnvelope, base64url,
    enrolment::{
        Challenge, DEVICE_CERTIFICATE_TYPE, DeviceCertificate, ENROLMENT_VERSION, EnrolmentRequest,
        EnrolmentResponse,
    },
    pull::PullKind,
    receipt::ServerKeyInfo,
};

use super::Intake;
use crate::{
    error::{IntakeError, Result},
    ids,
    store::{ChallengeUse, Device, EnrolOutcome, EnrolmentCode},
};

/// What a challenge is for; a challenge issued for one purpose is refused for the other.
pub const PURPOSE_ENROL: &str = "enrol";
pub const PURPOSE_TOKEN: &str = "token";

impl Intake {
    pub async fn challenge(&self, purpose: &str) -> Result<Challenge> {
        let challenge = base64url::encode(&ids::random_bytes(32));
        let expires_at = self.clock.now() + self.policy.challenge_ttl;
        self.meta.insert_challenge(&challenge, purpose, expires_at).await?;
        Ok(Challenge { challenge, expires_at })
    }

    /// Uses a challenge once, turning "unknown", "used" and "expired" into refusals.
    pub(crate) async fn use_challenge(&self, challenge: &str, purpose: &str) -> Result<()> {
        if challenge.len() > 128 {
            return Err(IntakeError::unauthorized("auth.challenge_unknown", "challenge too long"));
        }
        match self.meta.consume_challenge(challenge, purpose, self.clock.now()).await? {
            ChallengeUse::Fresh => Ok(()),
            ChallengeUse::Unknown => Err(IntakeError::unauthorized(
                "auth.challenge_unknown",
                "challenge never issued or already used",
            )),
            ChallengeUse::Expired => {
                Err(IntakeError::unauthorized("auth.challenge_expired", "challenge expired"))
            }
        }
    }

    /// Issues a one-time enrolment code for an inspector in the current register.
    pub async fn issue_enrolment_code(&self, inspector_id: &str) -> Result<(String, EnrolmentCode)> {
        let register = self.meta.published(PullKind::Register, "register").await?;
        let known =
            register.as_ref().and_then(|r| r.body.get("inspectors")).and_then(|i| i.as_array()).is_some_and(
                |inspectors| {
                    inspectors.iter().any(|i| i.get("id").and_then(|v| v.as_str()) == Some(inspector_id))
                },
            );
        if !known {
            return Err(IntakeError::not_found(
                "enrol.inspector_unknown",
                "inspector not in the current register",
            ));
        }
        let code = ids::enrolment_code();
        let now = self.clock.now();
        let row = EnrolmentCode {
            code_hash: ids::code_hash(&code),
            inspector_id: inspector_id.to_owned(),
            created_at: now,
            expires_at: now + self.policy.enrolment_code_ttl,
        };
        self.meta.insert_enrolment_code(&row).await?;
        Ok((code, row))
    }

    /// Enrols a device: checks the proof of possession and the challenge, consumes the code, and
    /// issues the device certificate.
    pub async fn enrol(&self, envelope: &SignedEnvelope) -> Result<EnrolmentResponse> {
        let (request, public_key) =
            EnrolmentRequest::open(envelope).map_err(|e| match IntakeError::from(e) {
                IntakeError::Refused {
                    code: "statement.bad_signature" | "statement.foreign_key",
                    detail,
                    ..
                } => IntakeError::unauthorized("auth.bad_signature", detail),
                other => other,
            })?;
        self.use_challenge(&request.challenge, PURPOSE_ENROL).await?;
        let code_hash = ids::code_hash(&request.code);
        // Only the inspector is needed before enrolling; the code's state is checked atomically below.
        let inspector_id = self.code_inspector(&code_hash).await?;
        let now = self.clock.now();
        let device_id = ids::random_hex(16);
        let certificate = DeviceCertificate {
            statement: DEVICE_CERTIFICATE_TYPE.to_owned(),
            v: ENROLMENT_VERSION,
            device_id: device_id.clone(),
            inspector_id: inspector_id.clone(),
            device_key_id: envelope.key_id.clone(),
            public_key: base64url::encode(&public_key),
            not_before: now,
            not_after: now + self.policy.certificate_validity,
            issuer_key_id: self.key.key_id().to_owned(),
        };
        let certificate_envelope = SignedEnvelope::seal(
            &serde_json::to_value(&certificate).map_err(IntakeError::internal)?,
            self.key.as_ref(),
        )
        .map_err(IntakeError::internal)?;
        let device = Device {
            device_id: device_id.clone(),
            inspector_id,
            key_id: envelope.key_id.clone(),
            public_key: public_key.clone(),
            label: request.device_label.map(|l| l.chars().take(80).collect()),
            enrolled_at: now,
            not_after: certificate.not_after,
            revoked_at: None,
            certificate: certificate_envelope.to_json_string().map_err(IntakeError::internal)?,
        };
        match self.meta.enrol(&code_hash, now, &device).await? {
            EnrolOutcome::Enrolled => {}
            EnrolOutcome::CodeUnknown => return Err(code_unknown()),
            EnrolOutcome::CodeUsed => {
                return Err(IntakeError::forbidden("enrol.code_used", "enrolment code already used"));
            }
            EnrolOutcome::CodeExpired => {
                return Err(IntakeError::forbidden("enrol.code_expired", "enrolment code expired"));
            }
            EnrolOutcome::KeyAlreadyEnrolled => {
                return Err(IntakeError::conflict(
                    "enrol.key_already_enrolled",
                    "device key already enrolled",
                ));
            }
        }
        tracing::info!(device_id, key_id = %device.key_id, "device enrolled");
        Ok(EnrolmentResponse {
            device_id,
            certificate: certificate_envelope,
            server_key: self.server_key_info()?,
        })
    }

    async fn code_inspector(&self, code_hash: &str) -> Result<String> {
        self.meta.code_inspector(code_hash).await?.ok_or_else(code_unknown)
    }

    pub fn server_key_info(&self) -> Result<ServerKeyInfo> {
        ServerKeyInfo::new(&self.key.public_key_bytes()).map_err(IntakeError::internal)
    }
}

fn code_unknown() -> IntakeError {
    IntakeError::refused(StatusCode::FORBIDDEN, "enrol.code_unknown", "no such enrolment code")
}

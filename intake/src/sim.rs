//! 模拟终端 — a simulated terminal speaking intake's protocol over real HTTP: enrol, sign a
//! challenge for a token, upload by tus, submit manifests. The integration tests and the benchmark
//! drive intake through it; the terminal's own sync client lives in core.

use chrono::{FixedOffset, Utc};
use fieldseal_core::{
    checklist::EvidenceKind,
    crypto::{DeviceSigner, signer::SoftwareSigner},
    evidence::{
        CaptureClock, EvidenceManifest, MediaType,
        manifest::{MANIFEST_TYPE, MANIFEST_VERSION},
    },
    protocol::{
        SignedEnvelope,
        auth::{TokenGrant, TokenRequest},
        enrolment::{Challenge, EnrolmentRequest, EnrolmentResponse},
        tus,
    },
};
use ring::digest;
use serde_json::Value;

use crate::ids;

pub type SimResult<T> = std::result::Result<T, String>;

/// A fresh software device key.
pub fn new_signer() -> SoftwareSigner {
    SoftwareSigner::ephemeral().expect("P-256 key generation works")
}

/// Signs `value` as an envelope.
pub fn seal(value: &impl serde::Serialize, signer: &dyn DeviceSigner) -> SignedEnvelope {
    SignedEnvelope::seal(&serde_json::to_value(value).expect("serialisable"), signer)
        .expect("software signing works")
}

/// An HTTP client for loopback tests and benchmarks (plain HTTP; no TLS roots needed).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("reqwest client builds")
}

/// A manifest for `bytes` as the terminal would seal it (fixed capture context).
pub fn manifest_for(
    evidence_id: &str,
    inspection_id: &str,
    bytes: &[u8],
    signer: &SoftwareSigner,
) -> EvidenceManifest {
    let tz = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    EvidenceManifest {
        statement: MANIFEST_TYPE.into(),
        v: MANIFEST_VERSION,
        evidence_id: evidence_id.into(),
        sha256: ids::sha256_hex(bytes),
        size: bytes.len() as u64,
        media_type: MediaType::Jpeg,
        kind: EvidenceKind::Photo,
        captured: CaptureClock {
            wall_clock: Utc::now().with_timezone(&tz),
            monotonic_ms: 86_400_000,
            gnss_time: None,
            server_offset_ms: None,
        },
        location: None,
        distance_to_site_m: None,
        exif: None,
        movie: None,
        flags: vec![],
        supports_presence: false,
        device_key_id: signer.key_id().into(),
        operator: "insp-001".into(),
        inspection_id: inspection_id.into(),
        item_id: None,
        finding_id: None,
        parent: None,
        thumbnail_sha256: None,
        app_version: "sim".into(),
        core_version: fieldseal_core::CORE_VERSION.into(),
    }
}

/// One simulated terminal.
pub struct SimDevice {
    pub base: String,
    pub http: reqwest::Client,
    pub signer: SoftwareSigner,
    pub device_id: Option<String>,
    pub token: Option<String>,
}

async fn json_or_error(response: reqwest::Response) -> SimResult<Value> {
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| format!("{status}: body is not JSON: {e}"))?;
    if status.is_success() { Ok(body) } else { Err(format!("{status}: {body}")) }
}

impl SimDevice {
    pub fn new(base: &str, http: reqwest::Client) -> Self {
        SimDevice {
            base: base.trim_end_matches('/').to_owned(),
            http,
            signer: new_signer(),
            device_id: None,
            token: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn challenge(&self, path: &str) -> SimResult<Challenge> {
        let response = self.http.post(self.url(path)).send().await.map_err(|e| e.to_string())?;
        serde_json::from_value(json_or_error(response).await?).map_err(|e| e.to_string())
    }

    /// The signed enrolment request for `code` (with a fresh enrolment challenge).
    pub async fn enrolment_request(&self, code: &str) -> SimResult<SignedEnvelope> {
        let challenge = self.challenge("/v1/enrolment/challenge").await?;
        let public = self.signer.public_key().map_err(|e| e.to_string())?;
        Ok(seal(
            &EnrolmentRequest::new(code, &challenge.challenge, &public, Some("sim".into())),
            &self.signer,
        ))
    }

    pub async fn enrol(&mut self, code: &str) -> SimResult<EnrolmentResponse> {
        let request = self.enrolment_request(code).await?;
        let response = self
            .http
            .post(self.url("/v1/enrolment"))
            .json(&request)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let enrolled: EnrolmentResponse =
            serde_json::from_value(json_or_error(response).await?).map_err(|e| e.to_string())?;
        self.device_id = Some(enrolled.device_id.clone());
        Ok(enrolled)
    }

    /// A signed token request over a fresh challenge, with the device clock moved by `skew`.
    pub async fn token_request(&self, skew: chrono::Duration) -> SimResult<SignedEnvelope> {
        let challenge = self.challenge("/v1/auth/challenge").await?;
        let device_id = self.device_id.as_deref().ok_or("not enrolled")?;
        Ok(seal(&TokenRequest::new(device_id, &challenge.challenge, Utc::now() + skew), &self.signer))
    }

    pub async fn login(&mut self) -> SimResult<TokenGrant> {
        let request = self.token_request(chrono::Duration::zero()).await?;
        let response = self
            .http
            .post(self.url("/v1/auth/token"))
            .json(&request)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let grant: TokenGrant =
            serde_json::from_value(json_or_error(response).await?).map_err(|e| e.to_string())?;
        self.token = Some(grant.token.clone());
        Ok(grant)
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token.as_deref().unwrap_or(""))
    }

    /// tus: create with the declared SHA-256; returns the upload URL.
    pub async fn create_upload(&self, length: u64, sha256: &str) -> SimResult<String> {
        let response = self
            .http
            .post(self.url("/v1/uploads"))
            .header("authorization", self.bearer())
            .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
            .header(tus::HEADER_UPLOAD_LENGTH, length.to_string())
            .header(tus::HEADER_UPLOAD_METADATA, tus::encode_metadata(&[(tus::METADATA_SHA256, sha256)]))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != reqwest::StatusCode::CREATED {
            return Err(format!("create: {}", response.status()));
        }
        let location =
            response.headers().get("location").and_then(|v| v.to_str().ok()).ok_or("no Location")?;
        Ok(self.url(location))
    }

    /// tus PATCH of one chunk with its SHA-256 checksum; returns the status and the new offset.
    pub async fn patch(&self, url: &str, offset: u64, chunk: &[u8]) -> SimResult<(u16, Option<u64>)> {
        let checksum = tus::encode_checksum("sha256", digest::digest(&digest::SHA256, chunk).as_ref());
        let response = self
            .http
            .patch(url)
            .header("authorization", self.bearer())
            .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
            .header(tus::HEADER_UPLOAD_OFFSET, offset.to_string())
            .header(tus::HEADER_UPLOAD_CHECKSUM, checksum)
            .header("content-type", tus::OFFSET_CONTENT_TYPE)
            .body(chunk.to_vec())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let offset =
            response.headers().get(tus::HEADER_UPLOAD_OFFSET).and_then(|v| v.to_str().ok()?.parse().ok());
        Ok((response.status().as_u16(), offset))
    }

    /// Uploads `bytes` in chunks of `chunk` bytes; returns the blob's SHA-256.
    pub async fn upload(&self, bytes: &[u8], chunk: usize) -> SimResult<String> {
        let sha = ids::sha256_hex(bytes);
        let url = self.create_upload(bytes.len() as u64, &sha).await?;
        let mut offset = 0usize;
        while offset < bytes.len() {
            let end = (offset + chunk).min(bytes.len());
            match self.patch(&url, offset as u64, &bytes[offset..end]).await? {
                (204, Some(next)) => offset = next as usize,
                (status, _) => return Err(format!("patch at {offset}: {status}")),
            }
        }
        Ok(sha)
    }

    /// POSTs an envelope with the bearer token; returns the status and the JSON body.
    pub async fn post_envelope(&self, path: &str, envelope: &SignedEnvelope) -> SimResult<(u16, Value)> {
        let response = self
            .http
            .post(self.url(path))
            .header("authorization", self.bearer())
            .json(envelope)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Uploads a photo (in one PATCH up to 1 MiB, as tus clients chunk) and submits its signed
    /// manifest; returns the receipt envelope.
    pub async fn submit_photo(
        &self,
        evidence_id: &str,
        inspection_id: &str,
        bytes: &[u8],
    ) -> SimResult<Value> {
        self.upload(bytes, 1 << 20).await?;
        let manifest = seal(&manifest_for(evidence_id, inspection_id, bytes, &self.signer), &self.signer);
        match self.post_envelope("/v1/evidence", &manifest).await? {
            (200, body) => Ok(body["receipt"].clone()),
            (status, body) => Err(format!("manifest: {status} {body}")),
        }
    }
}

//! 同步客户端 — the requests intake defines (intake/README.md, intake/openapi.json), over one
//! reqwest client whose TLS trust comes from [`Trust`].
//!
//! Authentication is intake's challenge–response (docs/decisions/0007): the device signs a
//! [`TokenRequest`] over a fresh challenge and sends the bearer token it earns. A token that has
//! lapsed (401) is renewed once, transparently, with the device key. Token grants, pull pages and
//! every answer's `Date` carry intake's clock, from which the client measures the device clock's
//! offset (`super::clock`).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

pub use super::clock::ClockSample;
use super::{
    SyncError, Trust,
    clock::{ServerTime, parse_http_date},
};
use crate::{
    crypto::DeviceSigner,
    protocol::{
        SignedEnvelope,
        auth::{TokenGrant, TokenRequest},
        enrolment::{Challenge, EnrolmentRequest, EnrolmentResponse},
        pull::PullPage,
        tus,
    },
};

/// Timeouts and the upload chunk size.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// For one request, a chunk PATCH included: a stalled link fails instead of hanging.
    pub request_timeout: Duration,
    /// Bytes per tus PATCH. At most this much is sent again after a cut; the upload holds two
    /// chunks in memory (one on the wire, the next read ahead).
    pub chunk_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(120),
            // Few enough requests per video that their round trips cost little, small enough that
            // two in memory stay well under the 32 MiB an upload may add, and that a cut on a
            // rural link resends little.
            chunk_size: 8 << 20,
        }
    }
}

#[derive(Default)]
struct Session {
    device_id: Option<String>,
    token: Option<String>,
    clock: Option<ClockSample>,
}

/// A client for one intake service, signing as this device.
pub struct IntakeClient {
    base: Url,
    http: reqwest::Client,
    signer: Arc<dyn DeviceSigner>,
    options: ClientOptions,
    session: Mutex<Session>,
}

impl std::fmt::Debug for IntakeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeClient").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

/// A request's outcome before interpretation.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    /// Read whole: intake's answers are small JSON.
    pub body: Vec<u8>,
}

impl IntakeClient {
    /// A client for the intake at `base_url` (e.g. `https://intake.sthj.example.gov.cn`).
    pub fn new(
        base_url: &str,
        trust: &Trust,
        options: ClientOptions,
        signer: Arc<dyn DeviceSigner>,
    ) -> Result<Self, SyncError> {
        let base: Url = base_url
            .trim_end_matches('/')
            .parse()
            .map_err(|e| SyncError::Tls { reason: format!("server address: {e}") })?;
        trust.check_url(&base)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(trust.rustls_config()?)
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .https_only(matches!(trust, Trust::Roots(_)))
            // Evidence never goes through a proxy the device happens to be told about.
            .no_proxy()
            .build()
            .map_err(|e| SyncError::Tls { reason: e.to_string() })?;
        Ok(IntakeClient { base, http, signer, options, session: Mutex::new(Session::default()) })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Sets the device id learnt at enrolment, so the client can earn tokens.
    pub fn set_device_id(&self, device_id: &str) {
        self.session().device_id = Some(device_id.to_owned());
    }

    /// The clock sample kept from intake's answers (`super::clock`).
    pub fn clock_sample(&self) -> Option<ClockSample> {
        self.session().clock
    }

    fn offer_clock(&self, server: ServerTime, sent: Instant) {
        let sample = ClockSample::measure(server, sent.elapsed(), Utc::now());
        let mut session = self.session();
        if sample.supersedes(session.clock.as_ref()) {
            session.clock = Some(sample);
        }
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        // A panic while holding the lock cannot leave the session half-updated (plain fields).
        self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An absolute URL for a path or a `Location` intake returned.
    pub(crate) fn url(&self, path_or_url: &str) -> Result<Url, SyncError> {
        self.base.join(path_or_url).map_err(|e| SyncError::BadResponse {
            during: "resolve URL",
            reason: format!("{path_or_url:?}: {e}"),
        })
    }

    async fn send(&self, during: &'static str, request: RequestBuilder) -> Result<Answer, SyncError> {
        let sent = Instant::now();
        let response: Response = request.send().await.map_err(|e| transport(during, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(date) =
            headers.get(reqwest::header::DATE).and_then(|v| v.to_str().ok()).and_then(parse_http_date)
        {
            self.offer_clock(ServerTime::DateHeader(date), sent);
        }
        let body = response.bytes().await.map_err(|e| transport(during, e))?.to_vec();
        Ok(Answer { status, headers, body })
    }

    /// Sends a request with the bearer token, earning or renewing the token as needed.
    pub(crate) async fn authed(
        &self,
        during: &'static str,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Answer, SyncError> {
        // Bound first: a guard in the match scrutinee would live through `login`, which locks too.
        let held = self.session().token.clone();
        let token = match held {
            Some(token) => token,
            None => self.login().await?,
        };
        let answer = self.send(during, build(&self.http).bearer_auth(&token)).await?;
        if answer.status != StatusCode::UNAUTHORIZED {
            return Ok(answer);
        }
        // Expired or unknown token: one renewal. A revoked device gets 401 again and stops here.
        self.session().token = None;
        let token = self.login().await?;
        self.send(during, build(&self.http).bearer_auth(&token)).await
    }

    fn json<T: DeserializeOwned>(during: &'static str, answer: Answer) -> Result<T, SyncError> {
        if !answer.status.is_success() {
            return Err(refusal(during, &answer));
        }
        serde_json::from_slice(&answer.body)
            .map_err(|e| SyncError::BadResponse { during, reason: e.to_string() })
    }

    async fn post_unauthed<T: DeserializeOwned>(
        &self,
        during: &'static str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, SyncError> {
        let mut request = self.http.post(self.url(path)?);
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::json(during, self.send(during, request).await?)
    }

    /// A fresh single-use challenge (`/v1/enrolment/challenge` or `/v1/auth/challenge`).
    pub async fn challenge(&self, path: &str) -> Result<Challenge, SyncError> {
        self.post_unauthed::<Challenge>("challenge", path, None::<&Value>).await
    }

    /// 设备注册 — enrols this device's key with a one-time code.
    pub async fn enrol(&self, code: &str, label: Option<String>) -> Result<EnrolmentResponse, SyncError> {
        let challenge = self.challenge("/v1/enrolment/challenge").await?;
        let public = self.signer.public_key().map_err(signing)?;
        let request = EnrolmentRequest::new(code, &challenge.challenge, &public, label);
        let envelope = seal(&request, self.signer.as_ref())?;
        let enrolled: EnrolmentResponse =
            self.post_unauthed("enrol", "/v1/enrolment", Some(&envelope)).await?;
        self.set_device_id(&enrolled.device_id);
        Ok(enrolled)
    }

    /// Earns a bearer token by signing a fresh challenge; records the clock offset.
    pub async fn login(&self) -> Result<String, SyncError> {
        let device_id = self.session().device_id.clone().ok_or(SyncError::NotEnrolled)?;
        let challenge = self.challenge("/v1/auth/challenge").await?;
        let sent = Instant::now();
        let request = TokenRequest::new(&device_id, &challenge.challenge, Utc::now());
        let envelope = seal(&request, self.signer.as_ref())?;
        let grant: TokenGrant = self.post_unauthed("authenticate", "/v1/auth/token", Some(&envelope)).await?;
        self.offer_clock(ServerTime::Stamped(grant.server_time), sent);
        self.session().token = Some(grant.token.clone());
        Ok(grant.token)
    }

    /// tus creation for a blob of `length` bytes declared by its SHA-256; returns the upload URL.
    pub async fn create_upload(
        &self,
        length: u64,
        sha256: &str,
        evidence_id: &str,
    ) -> Result<String, SyncError> {
        let url = self.url("/v1/uploads")?;
        let metadata =
            tus::encode_metadata(&[(tus::METADATA_SHA256, sha256), (tus::METADATA_EVIDENCE_ID, evidence_id)]);
        let answer = self
            .authed("create upload", |http| {
                http.post(url.clone())
                    .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
                    .header(tus::HEADER_UPLOAD_LENGTH, length.to_string())
                    .header(tus::HEADER_UPLOAD_METADATA, metadata.clone())
            })
            .await?;
        if answer.status != StatusCode::CREATED {
            return Err(refusal("create upload", &answer));
        }
        let location = header(&answer, "location")
            .ok_or(SyncError::BadResponse { during: "create upload", reason: "no Location header".into() })?;
        Ok(self.url(&location)?.to_string())
    }

    /// tus HEAD: how many bytes intake holds of the upload, or `None` when it no longer knows it
    /// (expired or never committed), in which case a new upload starts.
    pub async fn upload_offset(&self, upload_url: &str) -> Result<Option<u64>, SyncError> {
        let url = self.url(upload_url)?;
        let answer = self
            .authed("ask upload offset", |http| {
                http.request(Method::HEAD, url.clone()).header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
            })
            .await?;
        match answer.status {
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            status if status.is_success() => offset_header("ask upload offset", &answer).map(Some),
            _ => Err(refusal("ask upload offset", &answer)),
        }
    }

    /// tus PATCH of one chunk at `offset` with its CRC-32 (checksum extension, computed by the
    /// caller as it read the chunk); returns the offset intake has received. `chunk` is shared,
    /// not copied, by the retry after a token renewal.
    pub async fn patch_chunk(
        &self,
        upload_url: &str,
        offset: u64,
        chunk: bytes::Bytes,
        crc32: u32,
    ) -> Result<u64, SyncError> {
        let url = self.url(upload_url)?;
        let checksum = tus::encode_checksum(tus::CHUNK_CHECKSUM, &crc32.to_be_bytes());
        let answer = self
            .authed("upload chunk", |http| {
                http.patch(url.clone())
                    .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
                    .header(tus::HEADER_UPLOAD_OFFSET, offset.to_string())
                    .header(tus::HEADER_UPLOAD_CHECKSUM, checksum.clone())
                    .header(reqwest::header::CONTENT_TYPE, tus::OFFSET_CONTENT_TYPE)
                    .body(chunk.clone())
            })
            .await?;
        if answer.status != StatusCode::NO_CONTENT && !answer.status.is_success() {
            return Err(refusal("upload chunk", &answer));
        }
        offset_header("upload chunk", &answer)
    }

    /// POSTs a signed statement (`/v1/evidence`, `/v1/records`, `/v1/trail-heads`); returns the
    /// receipt envelope, not yet verified.
    pub async fn submit(&self, path: &str, statement: &SignedEnvelope) -> Result<SignedEnvelope, SyncError> {
        let url = self.url(path)?;
        let answer = self.authed("submit statement", |http| http.post(url.clone()).json(statement)).await?;
        let mut body: Value = Self::json("submit statement", answer)?;
        serde_json::from_value(body["receipt"].take()).map_err(|e| SyncError::BadResponse {
            during: "submit statement",
            reason: format!("receipt: {e}"),
        })
    }

    /// One page of the change feed after `cursor`.
    pub async fn pull(&self, cursor: &str) -> Result<PullPage, SyncError> {
        let mut url = self.url("/v1/pull")?;
        if !cursor.is_empty() {
            url.query_pairs_mut().append_pair("cursor", cursor);
        }
        let sent = Instant::now();
        let answer = self.authed("pull", |http| http.get(url.clone())).await?;
        let page: PullPage = Self::json("pull", answer)?;
        self.offer_clock(ServerTime::Stamped(page.server_time), sent);
        Ok(page)
    }
}

fn seal(statement: &impl Serialize, signer: &dyn DeviceSigner) -> Result<SignedEnvelope, SyncError> {
    let value = serde_json::to_value(statement)
        .map_err(|e| SyncError::BadResponse { during: "sign request", reason: e.to_string() })?;
    SignedEnvelope::seal(&value, signer).map_err(signing)
}

fn signing(e: impl std::fmt::Display) -> SyncError {
    // The device key failing is not a network matter, but it stops sync the same way: a person
    // must act (unlock the device, re-enrol). Kept as a refusal-like error with its reason.
    SyncError::Tls { reason: format!("device key: {e}") }
}

fn header(answer: &Answer, name: &str) -> Option<String> {
    answer.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn offset_header(during: &'static str, answer: &Answer) -> Result<u64, SyncError> {
    header(answer, tus::HEADER_UPLOAD_OFFSET)
        .and_then(|v| v.parse().ok())
        .ok_or(SyncError::BadResponse { during, reason: "no Upload-Offset header".into() })
}

/// Intake's refusal: its stable code and detail from the JSON error body when there is one.
fn refusal(during: &'static str, answer: &Answer) -> SyncError {
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let text = |key: &str| body["error"][key].as_str().unwrap_or("").to_owned();
    let code = text("code");
    if code == "auth.device_revoked" {
        return SyncError::DeviceRevoked;
    }
    SyncError::Server {
        during,
        status: answer.status.as_u16(),
        code: if code.is_empty() { format!("http.{}", answer.status.as_u16()) } else { code },
        detail: text("detail"),
    }
}

/// A transport failure, told apart from a certificate that does not chain to the pinned roots.
fn transport(during: &'static str, e: reqwest::Error) -> SyncError {
    match certificate_problem(&e) {
        Some(reason) => SyncError::UntrustedServer { during, reason },
        None => SyncError::Transport { during, source: e },
    }
}

/// Finds a rustls certificate error in the cause chain; hyper and tokio-rustls wrap it in
/// `io::Error`s (sometimes twice), whose inner error is not their `source`.
fn certificate_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return matches!(tls, rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
            .then(|| tls.to_string());
    }
    if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref)
        && let Some(found) = certificate_problem(inner)
    {
        return Some(found);
    }
    e.source().and_then(certificate_problem)
}

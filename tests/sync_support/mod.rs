//! A real intake on 127.0.0.1 (SQLite + blob directory), a terminal (store, device key, sealed
//! photos) and a fault-injecting proxy between them (resets, cut bodies, truncated answers, 5xx,
//! delays): what the sync tests share.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::support::{
    harness::{TestGuard, key_vault, open_store, request},
    testmedia,
};
use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderName, StatusCode, header},
    response::Response,
};
use fieldseal_core::{
    crypto::signer::SoftwareSigner,
    evidence::{CancelToken, EvidenceKind, IngestContext, IngestPolicy, ingest},
    outbox::{self, Backoff, Driver, NetworkPolicy, NetworkState, OutboxKind},
    protocol::{SignedEnvelope, receipt::Receipt},
    store::Store,
    sync::{ClientOptions, IntakeClient, Trust, enrolment},
};
use fieldseal_intake::{
    Intake,
    config::StorageConfig,
    http::{AppState, router, serve},
    keys::ServerKey,
};
use tokio::net::TcpListener;

pub const INSPECTOR: &str = "insp-001";

pub fn example(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../examples/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A real intake (SQLite + blob directory) served on an ephemeral loopback port.
pub struct TestIntake {
    pub addr: SocketAddr,
    pub intake: Intake,
    pub data: Arc<tempfile::TempDir>,
    pub server: Option<tokio::task::JoinHandle<()>>,
}

impl TestIntake {
    pub async fn start(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let intake = Self::start_on(Arc::new(tempfile::tempdir().unwrap()), tls, None).await;
        intake.intake.import_register(&example("register.json")).await.unwrap();
        intake
    }

    /// Intake over the stores in `data` (a fresh directory, or the one a killed intake left), with
    /// its clock replaced when `clock` is given.
    pub async fn start_on(
        data: Arc<tempfile::TempDir>,
        tls: Option<tokio_rustls::TlsAcceptor>,
        clock: Option<Arc<dyn fieldseal_intake::clock::Clock>>,
    ) -> Self {
        let mut intake = StorageConfig::local(data.path()).open().await.unwrap();
        if let Some(clock) = clock {
            intake.clock = clock;
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(AppState { intake: intake.clone(), admin_token: None }, Duration::from_secs(30));
        let server = tokio::spawn(async move {
            let _ =
                serve::serve(listener, app, tls, std::future::pending::<()>(), Duration::from_secs(2)).await;
        });
        TestIntake { addr, intake, data, server: Some(server) }
    }

    /// Kills the server at once (open connections are dropped mid-request, as when the process
    /// dies) and starts another over the same stores, on a new port.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
        let mut fresh = Self::start_on(self.data.clone(), None, None).await;
        self.addr = fresh.addr;
        self.intake = fresh.intake.clone();
        self.server = fresh.server.take();
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn code(&self) -> String {
        self.intake.issue_enrolment_code(INSPECTOR).await.unwrap().0
    }

    /// Evidence intake holds, as (evidence id, verified) pairs.
    pub async fn evidence(&self) -> Vec<(String, bool)> {
        let report = self.intake.report().await.unwrap();
        report
            .inspections
            .iter()
            .flat_map(|i| i.evidence.iter().map(|e| (e.evidence_id.clone(), e.verified)))
            .collect()
    }
}

impl Drop for TestIntake {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// A terminal: its store, device key and sealed photos.
pub struct Terminal {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub signer: Arc<SoftwareSigner>,
}

impl Terminal {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        let signer = Arc::new(
            SoftwareSigner::load_or_create(&key_vault(dir.path()), &dir.path().join("device.key")).unwrap(),
        );
        Terminal { dir, store, signer }
    }

    /// Seals `count` distinct photos (real JPEGs with real EXIF) through the real ingest.
    pub fn seal_photos(&self, count: usize, width: u32) -> Vec<String> {
        self.seal_photos_with(count, width, IngestPolicy::default())
    }

    /// As [`Terminal::seal_photos`], under `policy`; photos differ from every one sealed before.
    pub fn seal_photos_with(&self, count: usize, width: u32, policy: IngestPolicy) -> Vec<String> {
        let guard = TestGuard::capturing();
        let cx = IngestContext { store: &self.store, signer: self.signer.as_ref(), guard: &guard, policy };
        let captures = self.dir.path().join("captures");
        std::fs::create_dir_all(&captures).unwrap();
        let first = self.store.read(|c, _| outbox::all(c)).unwrap().len();
        (first..first + count)
            .map(|i| {
                let spec = testmedia::PhotoSpec {
                    width: width + 8 * (i as u32 % 64),
                    height: 48 + 8 * (i as u32 / 64),
                    thumbnail: false,
                    ..Default::default()
                };
                let path = captures.join(format!("IMG_{i:04}.jpg"));
                std::fs::write(&path, testmedia::photo(&spec)).unwrap();
                let mut req = request(&path, EvidenceKind::Photo);
                // The platform leaves the server offset to the core, which learnt it during sync.
                req.clock.server_offset_ms = None;
                ingest(&cx, &req, &CancelToken::new(), &mut |_| {}).unwrap().evidence_id
            })
            .collect()
    }

    /// The signed manifest of a sealed item.
    pub fn manifest(&self, evidence_id: &str) -> fieldseal_core::evidence::EvidenceManifest {
        let row = self.store.read(|c, k| fieldseal_core::store::evidence::get(c, k, evidence_id)).unwrap();
        serde_json::from_value(row.envelope.payload.clone()).unwrap()
    }

    pub fn client(&self, base: &str, trust: &Trust, chunk_size: usize) -> IntakeClient {
        let options = ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            chunk_size,
        };
        IntakeClient::new(base, trust, options, self.signer.clone()).unwrap()
    }

    pub fn driver<'a>(&'a self, client: &'a IntakeClient) -> Driver<'a> {
        Driver {
            store: &self.store,
            client,
            signer: self.signer.as_ref(),
            backoff: Backoff { base: Duration::from_millis(2), cap: Duration::from_millis(20) },
            network: NetworkPolicy::new(NetworkState::Unmetered),
        }
    }

    pub fn item(&self, evidence_id: &str) -> outbox::OutboxItem {
        self.store.read(|c, _| outbox::get(c, OutboxKind::Evidence, evidence_id)).unwrap().unwrap()
    }

    /// The stored receipts, opened under the server key kept at enrolment.
    pub fn receipts(&self) -> Vec<Receipt> {
        let enrolment = self.store.read(enrolment::load).unwrap().unwrap();
        let key = enrolment.server_public_key().unwrap();
        let rows: Vec<Vec<u8>> = self
            .store
            .read(|c, _| {
                let mut stmt =
                    c.prepare("SELECT receipt FROM outbox WHERE state = 'acknowledged' ORDER BY id").unwrap();
                let rows = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
                Ok(rows)
            })
            .unwrap();
        rows.iter()
            .map(|bytes| {
                let envelope = SignedEnvelope::from_json_str(std::str::from_utf8(bytes).unwrap()).unwrap();
                Receipt::open(&envelope, &key).unwrap()
            })
            .collect()
    }
}

pub fn install_test_provider() {
    // The proxy's own reqwest client (not the core's) needs a process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

// ---------------------------------------------------------------------------------------------
// The proxy: forwards every request to intake, injecting faults or rewriting receipts.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Change the receipt's hash without re-signing: the signature breaks.
    BreakSignature,
    /// Change the hash and re-sign with intake's real key: signed, but names another hash.
    OtherHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Clean,
    /// Each request suffers one fault with this probability (percent).
    Faults(u64),
    Tamper(Tamper),
    /// The first PATCH at or beyond this offset reaches intake cut short (a mid-body drop the
    /// chunk checksum catches); later ones pass.
    CutPatchAt(u64),
    /// Every PATCH is delayed (a slow link), so a kill lands mid-upload however fast the machine.
    SlowPatches,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Unavailable,
    Delay,
    CutRequestBody,
    ResetAfterForward,
    TruncateResponse,
}

pub struct Proxy {
    pub upstream: Mutex<String>,
    /// PATCH body bytes forwarded to intake (what intake was offered, cut chunks included).
    pub forwarded_patch_bytes: std::sync::atomic::AtomicU64,
    pub http: reqwest::Client,
    pub mode: Mutex<Mode>,
    pub rng: Mutex<u64>,
    pub server_key: Option<Arc<ServerKey>>,
    pub faults: Mutex<u64>,
    pub patch_bytes: Mutex<u64>,
}

impl Proxy {
    /// Points the proxy at another intake address (a restarted intake on a new port).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.upstream.lock().unwrap() = format!("http://{upstream}");
    }

    pub async fn start(
        upstream: SocketAddr,
        mode: Mode,
        server_key: Option<Arc<ServerKey>>,
    ) -> (String, Arc<Proxy>) {
        install_test_provider();
        let proxy = Arc::new(Proxy {
            upstream: Mutex::new(format!("http://{upstream}")),
            forwarded_patch_bytes: Default::default(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            mode: Mutex::new(mode),
            rng: Mutex::new(0x9E37_79B9_7F4A_7C15),
            server_key,
            faults: Mutex::new(0),
            patch_bytes: Mutex::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, proxy)
    }

    /// xorshift64*: reproducible faults from a fixed seed.
    pub fn roll(&self) -> u64 {
        let mut s = self.rng.lock().unwrap();
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D) % 100
    }

    pub fn pick(&self, method: &axum::http::Method, path: &str, body_len: usize) -> Fault {
        let mode = *self.mode.lock().unwrap();
        let fault = match mode {
            Mode::Clean | Mode::Tamper(_) => Fault::None,
            Mode::SlowPatches if method == axum::http::Method::PATCH => Fault::Delay,
            Mode::SlowPatches => Fault::None,
            Mode::CutPatchAt(at) => {
                let mut sent = self.patch_bytes.lock().unwrap();
                if method == axum::http::Method::PATCH {
                    *sent += body_len as u64;
                    if *sent > at {
                        *self.mode.lock().unwrap() = Mode::Clean;
                        return Fault::CutRequestBody;
                    }
                }
                Fault::None
            }
            Mode::Faults(rate) => {
                if self.roll() >= rate || path.starts_with("/v1/auth") || path.starts_with("/v1/enrolment") {
                    Fault::None
                } else {
                    match self.roll() % 5 {
                        0 => Fault::Unavailable,
                        1 => Fault::Delay,
                        2 if body_len > 1 => Fault::CutRequestBody,
                        3 => Fault::TruncateResponse,
                        _ => Fault::ResetAfterForward,
                    }
                }
            }
        };
        if fault != Fault::None {
            *self.faults.lock().unwrap() += 1;
        }
        fault
    }

    pub fn tamper(&self, path: &str, body: Bytes) -> Bytes {
        let Mode::Tamper(how) = *self.mode.lock().unwrap() else { return body };
        if path != "/v1/evidence" {
            return body;
        }
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) else { return body };
        let receipt = &mut value["receipt"];
        receipt["payload"]["sha256"] = serde_json::json!("00".repeat(32));
        if how == Tamper::OtherHash {
            let key = self.server_key.as_ref().expect("re-signing needs intake's key");
            let resealed = SignedEnvelope::seal(&receipt["payload"], key.as_ref()).unwrap();
            *receipt = serde_json::to_value(resealed).unwrap();
        }
        Bytes::from(serde_json::to_vec(&value).unwrap())
    }
}

pub async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let fault = proxy.pick(&parts.method, &path, body.len());
    let status_only = |status: StatusCode| Response::builder().status(status).body(Body::empty()).unwrap();
    match fault {
        Fault::Unavailable => return status_only(StatusCode::SERVICE_UNAVAILABLE),
        Fault::Delay => tokio::time::sleep(Duration::from_millis(30)).await,
        _ => {}
    }
    // A body cut mid-way: a PATCH reaches intake short (its chunk checksum catches it); any other
    // request never completes, so intake sees nothing and the terminal sees a reset.
    if fault == Fault::CutRequestBody && parts.method != axum::http::Method::PATCH {
        return status_only(StatusCode::BAD_GATEWAY);
    }
    let sent = if fault == Fault::CutRequestBody { body.slice(..body.len() / 2) } else { body };
    if parts.method == axum::http::Method::PATCH {
        proxy.forwarded_patch_bytes.fetch_add(sent.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }
    let upstream_base = proxy.upstream.lock().unwrap().clone();
    let target = format!("{upstream_base}{}", parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut upstream = proxy.http.request(parts.method.clone(), target);
    for (name, value) in &parts.headers {
        if ![header::HOST, header::CONTENT_LENGTH, header::CONNECTION, header::TRANSFER_ENCODING]
            .contains(name)
        {
            upstream = upstream.header(name, value);
        }
    }
    let Ok(answer) = upstream.body(sent).send().await else { return status_only(StatusCode::BAD_GATEWAY) };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = proxy.tamper(&path, answer.bytes().await.unwrap_or_default());
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if *name != header::CONTENT_LENGTH && *name != header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    match fault {
        // Intake committed the request; the terminal never hears so.
        Fault::ResetAfterForward | Fault::TruncateResponse if bytes.len() < 2 => {
            status_only(StatusCode::BAD_GATEWAY)
        }
        Fault::ResetAfterForward => {
            let cut = bytes.slice(..bytes.len() / 2);
            let chunks: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(cut), Err(std::io::Error::other("connection reset by the proxy"))];
            response
                .header(header::CONTENT_LENGTH, bytes.len())
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap()
        }
        Fault::TruncateResponse => {
            let cut = bytes.slice(..bytes.len() / 2);
            response
                .header(HeaderName::from_static("content-length"), cut.len())
                .body(Body::from(cut))
                .unwrap()
        }
        _ => response.header(header::CONTENT_LENGTH, bytes.len()).body(Body::from(bytes)).unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------

pub async fn enrol(terminal: &Terminal, client: &IntakeClient, intake: &TestIntake) {
    enrolment::enrol(
        &terminal.store,
        client,
        terminal.signer.as_ref(),
        &intake.code().await,
        Some("test".into()),
    )
    .await
    .unwrap();
}

pub fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

/// An intake in its own runtime on its own thread, so killing it ends every task it runs (open
/// connections, requests half-read, blocking store calls) at once, as a killed process would.
pub struct KillableIntake {
    pub addr: SocketAddr,
    pub data: Arc<tempfile::TempDir>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl KillableIntake {
    /// Starts over the stores in `data` (its register imported when `seed`).
    pub fn start(data: Arc<tempfile::TempDir>, seed: bool) -> Self {
        let dir = data.path().to_owned();
        let (runtime, addr) = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            let addr = runtime.block_on(async move {
                let intake = StorageConfig::local(&dir).open().await.unwrap();
                if seed {
                    intake.import_register(&example("register.json")).await.unwrap();
                }
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let app = router(AppState { intake, admin_token: None }, Duration::from_secs(30));
                tokio::spawn(serve::serve(
                    listener,
                    app,
                    None,
                    std::future::pending::<()>(),
                    Duration::from_secs(2),
                ));
                addr
            });
            (runtime, addr)
        })
        .join()
        .unwrap();
        KillableIntake { addr, data, runtime: Some(runtime) }
    }

    /// Kills it: every task dropped where it stands.
    pub fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// A second intake over the same stores, for asking what they hold and issuing codes.
    pub async fn reader(&self) -> Intake {
        StorageConfig::local(self.data.path()).open().await.unwrap()
    }
}

impl Drop for KillableIntake {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Evidence an intake holds, as (evidence id, verified) pairs.
pub async fn evidence_held(intake: &Intake) -> Vec<(String, bool)> {
    let report = intake.report().await.unwrap();
    report
        .inspections
        .iter()
        .flat_map(|i| i.evidence.iter().map(|e| (e.evidence_id.clone(), e.verified)))
        .collect()
}

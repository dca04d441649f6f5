//! Sync against a real intake on 127.0.0.1: sealed evidence uploaded by tus from the vault, receipts
//! verified under the key learnt at enrolment, refused receipts, TLS pinned to a test CA, and a
//! fault-injecting proxy between the two (resets, cut bodies, truncated answers, 5xx, delays).

use fieldseal_test_support as support;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderName, StatusCode, header},
    response::Response,
};
use fieldseal_core::{
    Error,
    crypto::{DeviceSigner, signer::SoftwareSigner},
    evidence::{CancelToken, EvidenceKind, IngestContext, IngestPolicy, ingest},
    outbox::{self, Backoff, DrainReport, Driver, NetworkPolicy, NetworkState, OutboxKind, WedgedReason},
    protocol::{SignedEnvelope, receipt::Receipt},
    store::Store,
    sync::{ClientOptions, IntakeClient, SyncError, Trust, enrolment},
};
use fieldseal_intake::{
    Intake,
    config::StorageConfig,
    http::{AppState, router, serve},
    keys::ServerKey,
};
use support::{
    harness::{TestGuard, key_vault, open_store, request},
    testmedia,
};
use tokio::{net::TcpListener, sync::oneshot};

const INSPECTOR: &str = "insp-001";

fn example(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../examples/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A real intake (SQLite + blob directory) served on an ephemeral loopback port.
struct TestIntake {
    addr: SocketAddr,
    intake: Intake,
    _data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl TestIntake {
    async fn start(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let data = tempfile::tempdir().unwrap();
        let intake = StorageConfig::local(data.path()).open().await.unwrap();
        intake.import_register(&example("register.json")).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(AppState { intake: intake.clone(), admin_token: None }, Duration::from_secs(30));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(serve::serve(
            listener,
            app,
            tls,
            async {
                let _ = rx.await;
            },
            Duration::from_secs(2),
        ));
        TestIntake { addr, intake, _data: data, stop: Some(tx) }
    }

    async fn code(&self) -> String {
        self.intake.issue_enrolment_code(INSPECTOR).await.unwrap().0
    }

    /// Evidence intake holds, as (evidence id, verified) pairs.
    async fn evidence(&self) -> Vec<(String, bool)> {
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
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A terminal: its store, device key and sealed photos.
struct Terminal {
    dir: tempfile::TempDir,
    store: Store,
    signer: Arc<SoftwareSigner>,
}

impl Terminal {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        let signer = Arc::new(
            SoftwareSigner::load_or_create(&key_vault(dir.path()), &dir.path().join("device.key")).unwrap(),
        );
        Terminal { dir, store, signer }
    }

    /// Seals `count` distinct photos (real JPEGs with real EXIF) through the real ingest.
    fn seal_photos(&self, count: usize, width: u32) -> Vec<String> {
        let guard = TestGuard::capturing();
        let cx = IngestContext {
            store: &self.store,
            signer: self.signer.as_ref(),
            guard: &guard,
            policy: IngestPolicy::default(),
        };
        let captures = self.dir.path().join("captures");
        std::fs::create_dir_all(&captures).unwrap();
        (0..count)
            .map(|i| {
                let spec = testmedia::PhotoSpec {
                    width: width + 8 * (i as u32 % 64),
                    height: 48 + 8 * (i as u32 / 64),
                    thumbnail: false,
                    ..Default::default()
                };
                let path = captures.join(format!("IMG_{i:04}.jpg"));
                std::fs::write(&path, testmedia::photo(&spec)).unwrap();
                ingest(&cx, &request(&path, EvidenceKind::Photo), &CancelToken::new(), &mut |_| {})
                    .unwrap()
                    .evidence_id
            })
            .collect()
    }

    fn client(&self, base: &str, trust: &Trust, chunk_size: usize) -> IntakeClient {
        let options = ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            chunk_size,
        };
        IntakeClient::new(base, trust, options, self.signer.clone()).unwrap()
    }

    fn driver<'a>(&'a self, client: &'a IntakeClient) -> Driver<'a> {
        Driver {
            store: &self.store,
            client,
            signer: self.signer.as_ref(),
            backoff: Backoff { base: Duration::from_millis(2), cap: Duration::from_millis(20) },
            network: NetworkPolicy::new(NetworkState::Unmetered),
        }
    }

    fn item(&self, evidence_id: &str) -> outbox::OutboxItem {
        self.store.read(|c, _| outbox::get(c, OutboxKind::Evidence, evidence_id)).unwrap().unwrap()
    }

    /// The stored receipts, opened under the server key kept at enrolment.
    fn receipts(&self) -> Vec<Receipt> {
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

fn install_test_provider() {
    // The proxy's own reqwest client (not the core's) needs a process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

// ---------------------------------------------------------------------------------------------
// The proxy: forwards every request to intake, injecting faults or rewriting receipts.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    /// Change the receipt's hash without re-signing: the signature breaks.
    BreakSignature,
    /// Change the hash and re-sign with intake's real key: signed, but names another hash.
    OtherHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Clean,
    /// Each request suffers one fault with this probability (percent).
    Faults(u64),
    Tamper(Tamper),
    /// The first PATCH at or beyond this offset reaches intake cut short (a mid-body drop the
    /// chunk checksum catches); later ones pass.
    CutPatchAt(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Unavailable,
    Delay,
    CutRequestBody,
    ResetAfterForward,
    TruncateResponse,
}

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    mode: Mutex<Mode>,
    rng: Mutex<u64>,
    server_key: Option<Arc<ServerKey>>,
    faults: Mutex<u64>,
    patch_bytes: Mutex<u64>,
}

impl Proxy {
    async fn start(
        upstream: SocketAddr,
        mode: Mode,
        server_key: Option<Arc<ServerKey>>,
    ) -> (String, Arc<Proxy>) {
        install_test_provider();
        let proxy = Arc::new(Proxy {
            upstream: format!("http://{upstream}"),
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
    fn roll(&self) -> u64 {
        let mut s = self.rng.lock().unwrap();
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D) % 100
    }

    fn pick(&self, method: &axum::http::Method, path: &str, body_len: usize) -> Fault {
        let mode = *self.mode.lock().unwrap();
        let fault = match mode {
            Mode::Clean | Mode::Tamper(_) => Fault::None,
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

    fn tamper(&self, path: &str, body: Bytes) -> Bytes {
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

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
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
    let target = format!("{}{}", proxy.upstream, parts.uri.path_and_query().map_or("/", |p| p.as_str()));
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

async fn enrol(terminal: &Terminal, client: &IntakeClient, intake: &TestIntake) {
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

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_evidence_is_acknowledged_only_with_receipts_naming_its_hash() {
    let intake = TestIntake::start(None).await;
    let terminal = Terminal::new();
    let ids = terminal.seal_photos(5, 320);
    let base = format!("http://{}", intake.addr);
    // Small chunks, so every photo takes several PATCHes.
    let client = terminal.client(&base, &Trust::LoopbackPlain, 4096);
    enrol(&terminal, &client, &intake).await;

    let report = terminal.driver(&client).drain(deadline()).await.unwrap();
    assert_eq!((report.acknowledged, report.wedged), (5, 0), "{report:?}");

    let receipts = terminal.receipts();
    assert_eq!(receipts.len(), 5);
    for id in &ids {
        let manifest = terminal.store.read(|c, k| fieldseal_core::store::evidence::get(c, k, id)).unwrap();
        let receipt = receipts.iter().find(|r| &r.object_id == id).expect("a receipt per item");
        assert_eq!(receipt.sha256, manifest.envelope.payload["sha256"].as_str().unwrap());
        assert_eq!(terminal.item(id).state, "acknowledged");
    }
    let held = intake.evidence().await;
    assert_eq!(held.len(), 5);
    assert!(held.iter().all(|(_, verified)| *verified), "{held:?}");

    // The clock offset was measured from intake's token grant (both clocks are this machine's).
    let offset = terminal.store.read(|c, _| enrolment::clock_offset_ms(c)).unwrap().expect("offset recorded");
    assert!(offset.abs() < 5_000, "offset {offset} ms");

    // A second drain has nothing to do: acknowledged rows are never sent again.
    let again = terminal.driver(&client).drain(deadline()).await.unwrap();
    assert_eq!(again, DrainReport::default());
}

async fn refused_receipt(tamper: Tamper) {
    let intake = TestIntake::start(None).await;
    let (base, _proxy) =
        Proxy::start(intake.addr, Mode::Tamper(tamper), Some(intake.intake.key.clone())).await;
    let terminal = Terminal::new();
    let ids = terminal.seal_photos(1, 320);
    let client = terminal.client(&base, &Trust::LoopbackPlain, 64 << 10);
    enrol(&terminal, &client, &intake).await;

    let report = terminal.driver(&client).drain(deadline()).await.unwrap();
    assert_eq!((report.acknowledged, report.wedged), (0, 1), "{report:?}");
    let item = terminal.item(&ids[0]);
    assert_eq!(item.state, "wedged");
    let reason = WedgedReason::parse(item.wedged_reason.as_deref().unwrap());
    assert_eq!(reason.code, "sync.receipt_refused");
    assert!(reason.message_zh.contains("回执") && reason.message_en.contains("receipt"), "{reason:?}");
    // Not released: the sealed item is whole in the vault and still verifies.
    let public = terminal.signer.public_key().unwrap();
    fieldseal_core::evidence::verify_item(&terminal.store, &ids[0], &public).unwrap();
    assert!(terminal.receipts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_with_a_bad_signature_is_refused_and_the_item_kept() {
    refused_receipt(Tamper::BreakSignature).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_receipt_naming_another_hash_is_refused_and_the_item_kept() {
    refused_receipt(Tamper::OtherHash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_network_loses_and_duplicates_nothing() {
    const ITEMS: usize = 100;
    let intake = TestIntake::start(None).await;
    let (base, proxy) = Proxy::start(intake.addr, Mode::Faults(30), None).await;
    let terminal = Terminal::new();
    let ids = terminal.seal_photos(ITEMS, 48);
    // Two chunks or more per photo, so cuts land between chunks too.
    let client = terminal.client(&base, &Trust::LoopbackPlain, 2048);
    enrol(&terminal, &client, &intake).await;

    let report = terminal.driver(&client).drain(deadline()).await.unwrap();
    let faults = *proxy.faults.lock().unwrap();
    println!("faults injected: {faults}; {report:?}");
    assert!(faults >= ITEMS as u64 / 2, "the proxy injected only {faults} faults");
    let wedged: Vec<_> =
        ids.iter().map(|id| terminal.item(id)).filter(|i| i.state != "acknowledged").collect();
    assert!(wedged.is_empty(), "{wedged:#?}");
    assert_eq!((report.acknowledged, report.wedged), (ITEMS as u64, 0), "{report:?}");

    let receipts = terminal.receipts();
    let mut named: Vec<&str> = receipts.iter().map(|r| r.object_id.as_str()).collect();
    named.sort_unstable();
    named.dedup();
    assert_eq!(named.len(), ITEMS, "one receipt per item");
    let mut held = intake.evidence().await;
    assert_eq!(held.len(), ITEMS, "intake holds each item once");
    held.sort();
    held.dedup();
    assert_eq!(held.len(), ITEMS);
    assert!(held.iter().all(|(id, verified)| *verified && ids.contains(id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_upload_resumes_from_the_server_offset_sending_at_most_one_chunk_again() {
    const CHUNK: usize = 1024;
    let intake = TestIntake::start(None).await;
    let (base, _proxy) = Proxy::start(intake.addr, Mode::CutPatchAt(5 * CHUNK as u64), None).await;
    let terminal = Terminal::new();
    let ids = terminal.seal_photos(1, 1024);
    let size = terminal.store.read(|c, k| fieldseal_core::store::evidence::get(c, k, &ids[0])).unwrap().size;
    assert!(size > 8 * CHUNK as u64, "the photo spans many chunks ({size} bytes)");
    let client = terminal.client(&base, &Trust::LoopbackPlain, CHUNK);
    enrol(&terminal, &client, &intake).await;

    // The first pass is cut: the row backs off, keeping the server's offset and the upload URL.
    let first = terminal.driver(&client).drain_once().await.unwrap();
    assert_eq!(first.retried, 1, "{first:?}");
    let item = terminal.item(&ids[0]);
    assert_eq!(item.resume_offset, 5 * CHUNK as i64, "the offset intake reported");
    assert!(item.upload_url.is_some());

    // A new client (as after an app restart) asks the server and continues the same upload.
    let restarted = terminal.client(&base, &Trust::LoopbackPlain, CHUNK);
    let rest = terminal.driver(&restarted).drain(deadline()).await.unwrap();
    assert_eq!(rest.acknowledged, 1, "{rest:?}");
    let resent = first.bytes_sent + rest.bytes_sent - size;
    println!("blob {size} bytes, sent {} + {}, re-sent {resent}", first.bytes_sent, rest.bytes_sent);
    assert!(resent <= CHUNK as u64, "re-sent {resent} bytes, more than one chunk");
    assert_eq!(intake.evidence().await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// TLS: intake with a certificate from a CA the test makes; the terminal pins that CA.

struct TestPki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    TestPki { ca_pem: ca.pem(), cert_pem: leaf.pem(), key_pem: key.serialize_pem() }
}

async fn tls_intake(pki: &TestPki, dir: &std::path::Path) -> TestIntake {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pki.cert_pem).unwrap();
    std::fs::write(&key, &pki.key_pem).unwrap();
    TestIntake::start(Some(serve::tls_acceptor(&cert, &key).unwrap())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_pinned_province_ca_is_trusted_and_another_is_refused() {
    let files = tempfile::tempdir().unwrap();
    let province = pki();
    let intake = tls_intake(&province, files.path()).await;
    let base = format!("https://{}", intake.addr);
    let terminal = Terminal::new();
    terminal.seal_photos(2, 320);

    let pinned = Trust::from_pem(province.ca_pem.as_bytes()).unwrap();
    let client = terminal.client(&base, &pinned, 64 << 10);
    enrol(&terminal, &client, &intake).await;
    let report = terminal.driver(&client).drain(deadline()).await.unwrap();
    assert_eq!(report.acknowledged, 2, "{report:?}");

    // Another CA (a server impersonating intake, or a wrong configuration): refused at the
    // handshake, as a certificate problem a person must look at, not a network blip.
    let stranger = Trust::from_pem(pki().ca_pem.as_bytes()).unwrap();
    let other = Terminal::new();
    let client = other.client(&base, &stranger, 64 << 10);
    let refused =
        enrolment::enrol(&other.store, &client, other.signer.as_ref(), &intake.code().await, None).await;
    match refused {
        Err(Error::Sync(e @ SyncError::UntrustedServer { .. })) => assert!(!e.is_transient()),
        other => panic!("expected an untrusted server, got {other:?}"),
    }
    // And the pinned client refuses plain HTTP outright.
    assert!(matches!(
        IntakeClient::new(
            &format!("http://{}", intake.addr),
            &pinned,
            ClientOptions::default(),
            terminal.signer.clone()
        ),
        Err(SyncError::PlainHttpRefused { .. })
    ));
}

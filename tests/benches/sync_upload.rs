//! Sync upload figures beside their goals, in one run (a benchmark: it prints, it asserts nothing):
//! - throughput of a sealed 1 GiB video sent by the sync client (tus from the vault, decrypted
//!   segment by segment and read ahead of the network, a CRC-32 checksum per chunk; intake
//!   verifies the whole blob's SHA-256 before it stores it) to a real intake on 127.0.0.1, beside a
//!   plain HTTP PUT of the same bytes to the same intake process (a route added beside intake's
//!   own that writes the body to a file and fsyncs it once at the end) — goal ≥ 0.8×;
//! - peak resident memory during the upload above the idle process — goal ≤ 32 MiB. Intake runs
//!   in the same process, so its buffers count too: the client's own share is smaller;
//! - bytes sent again after a cut: the upload is dropped mid-chunk at half way (as when the app is
//!   killed), and a new client resumes from intake's offset (HEAD) — goal ≤ one chunk.
//!
//! `cargo bench -p fieldseal-system-tests --bench sync_upload`; `FIELDSEAL_BENCH_SYNC_MB` (default
//! 1024) sizes the video, `FIELDSEAL_BENCH_SYNC_CHUNK_KB` (default the client's 1024) the chunk.

use std::{
    fs,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, body::Body, extract::Path as UrlPath, http::StatusCode, routing::put};
use fieldseal_core::{
    crypto::signer::SoftwareSigner,
    evidence::{CancelToken, EvidenceKind, IngestContext, IngestPolicy, ingest},
    outbox::{self, OutboxKind},
    store::{Store, evidence as evidence_rows},
    sync::{
        ClientOptions, IntakeClient, Trust, enrolment,
        upload::{self, BlobUpload},
    },
};
use fieldseal_intake::{
    config::StorageConfig,
    http::{AppState, router, serve},
};
use fieldseal_test_support::{
    harness::{TestGuard, key_vault, open_store, request},
    testmedia,
};
use futures_util::StreamExt;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn memory_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Processor time this process has used (user + system, all threads), from /proc (USER_HZ = 100).
fn cpu_seconds() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn mib_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64() / (1 << 20) as f64
}

/// Intake on 127.0.0.1 with one extra route: `PUT /bench/put/{name}` writes the body to a file in
/// intake's data directory and fsyncs it — the ceiling of moving these bytes into this process.
async fn start_intake(data: &Path) -> (String, fieldseal_intake::Intake) {
    let intake = StorageConfig::local(data).open().await.unwrap();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/register.json");
    intake.import_register(&fs::read_to_string(examples).unwrap()).await.unwrap();
    let puts = data.join("plain-puts");
    fs::create_dir_all(&puts).unwrap();
    let plain = Router::new().route(
        "/bench/put/{name}",
        put(move |UrlPath(name): UrlPath<String>, body: Body| {
            let path = puts.join(name.replace(['/', '.'], "_"));
            async move {
                let mut file =
                    tokio::fs::File::create(&path).await.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
                let mut stream = body.into_data_stream();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|_| StatusCode::BAD_REQUEST)?;
                    file.write_all(&chunk).await.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
                }
                file.sync_all().await.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
                Ok::<_, StatusCode>(StatusCode::NO_CONTENT)
            }
        }),
    );
    let app =
        router(AppState { intake: intake.clone(), admin_token: None }, Duration::from_secs(600)).merge(plain);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve::serve(listener, app, None, std::future::pending::<()>(), Duration::from_secs(2)));
    (base, intake)
}

/// A plain HTTP/1.1 PUT of `source`, streamed from the file in 1 MiB reads over one connection.
async fn plain_put(addr: &str, source: &Path) -> Duration {
    let len = fs::metadata(source).unwrap().len();
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PUT /bench/put/video HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut file = tokio::fs::File::open(source).await.unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await.unwrap();
    }
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        answer.starts_with(b"HTTP/1.1 204"),
        "plain PUT answered {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(64)])
    );
    elapsed
}

fn client(base: &str, signer: Arc<SoftwareSigner>, chunk: usize) -> IntakeClient {
    let options = ClientOptions {
        chunk_size: chunk,
        request_timeout: Duration::from_secs(600),
        ..ClientOptions::default()
    };
    IntakeClient::new(base, &Trust::LoopbackPlain, options, signer).unwrap()
}

fn seal_video(store: &Store, signer: &SoftwareSigner, dir: &Path, bytes: u64) -> String {
    let source = dir.join("VID_bench.mp4");
    testmedia::write_video_like(&source, bytes).unwrap();
    let guard = TestGuard::capturing();
    let cx = IngestContext { store, signer, guard: &guard, policy: IngestPolicy::default() };
    ingest(&cx, &request(&source, EvidenceKind::Video), &CancelToken::new(), &mut |_| {}).unwrap().evidence_id
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` / `--list`: nothing to list, nothing to test.
    }
    let mb = env_num("FIELDSEAL_BENCH_SYNC_MB", 1024);
    let chunk = (env_num("FIELDSEAL_BENCH_SYNC_CHUNK_KB", (ClientOptions::default().chunk_size >> 10) as u64)
        << 10) as usize;
    let tmp = tempfile::tempdir().unwrap();
    let terminal_dir = tmp.path().join("terminal");
    let intake_dir = tmp.path().join("intake");
    fs::create_dir_all(&terminal_dir).unwrap();
    fs::create_dir_all(&intake_dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let store = open_store(&terminal_dir);
    let signer = Arc::new(
        SoftwareSigner::load_or_create(&key_vault(&terminal_dir), &terminal_dir.join("device.key")).unwrap(),
    );
    let sealing = Instant::now();
    let evidence_id = seal_video(&store, &signer, &terminal_dir, mb << 20);
    println!(
        "sealed a {mb} MiB video into the vault in {:.1} s (setup, not a figure)",
        sealing.elapsed().as_secs_f64()
    );
    let row = store.read(|c, k| evidence_rows::get(c, k, &evidence_id)).unwrap();
    // The exact size is the signed manifest's: the row keeps only its size class.
    let size = row.envelope.payload["size"].as_u64().unwrap();
    let sha256 = row.envelope.payload["sha256"].as_str().unwrap().to_owned();
    let outbox_id =
        store.read(|c, _| outbox::get(c, OutboxKind::Evidence, &evidence_id)).unwrap().unwrap().id;

    runtime.block_on(async {
        let (base, intake) = start_intake(&intake_dir).await;
        let code = intake.issue_enrolment_code("insp-001").await.unwrap().0;
        let first = client(&base, signer.clone(), chunk);
        enrolment::enrol(&store, &first, signer.as_ref(), &code, None).await.unwrap();

        // The ceiling: the same bytes (the video rewritten, identical) PUT to the same process.
        let plain_source = tmp.path().join("VID_plain.mp4");
        testmedia::write_video_like(&plain_source, mb << 20).unwrap();
        let cpu_before_plain = cpu_seconds();
        let plain = plain_put(base.trim_start_matches("http://"), &plain_source).await;
        let plain_cpu = cpu_seconds() - cpu_before_plain;
        fs::remove_file(&plain_source).unwrap();

        let on_wire = AtomicU64::new(0);
        let blob = BlobUpload {
            outbox_id,
            blob_id: &row.blob_id,
            evidence_id: &evidence_id,
            sha256: &sha256,
            size,
            upload_url: None,
        };
        let _ = fs::write("/proc/self/clear_refs", "5");
        let idle_kib = memory_kib("VmRSS:");
        let cpu_before_sync = cpu_seconds();
        let started = Instant::now();
        // Cut at half way: the upload future is dropped mid-chunk, its connection with it.
        let half = size / 2;
        let cut = async {
            while on_wire.load(Ordering::Relaxed) < half {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        let mut quiet = |_: u64, _: u64| {};
        tokio::select! {
            done = upload::upload_blob(&store, &first, &blob, &on_wire, &mut quiet) => {
                panic!("the upload finished before the cut: {done:?}")
            }
            () = cut => {}
        }
        let cut_at = on_wire.load(Ordering::Relaxed);
        drop(first);
        // A new client, as after a restart: the URL from the outbox row, the offset from intake.
        let url = store.read(|c, _| outbox::get(c, OutboxKind::Evidence, &evidence_id)).unwrap().unwrap().upload_url;
        let resumed = client(&base, signer.clone(), chunk);
        resumed.set_device_id(&store.read(enrolment::load).unwrap().unwrap().device_id);
        let again = BlobUpload { upload_url: url.as_deref(), ..blob.clone() };
        let outcome = upload::upload_blob(&store, &resumed, &again, &on_wire, &mut quiet)
            .await
            .unwrap();
        let elapsed = started.elapsed();
        let sync_cpu = cpu_seconds() - cpu_before_sync;
        let peak_kib = memory_kib("VmHWM:");
        let total = on_wire.load(Ordering::Relaxed);
        let resent = total.saturating_sub(size);

        let tus = mib_per_s(size, elapsed);
        let ceiling = mib_per_s(size, plain);
        println!("video {mb} MiB, chunk {} KiB, intake on 127.0.0.1 (SQLite + blob directory):", chunk >> 10);
        println!("  plain HTTP PUT + fsync to the same intake: {ceiling:.0} MiB/s ({:.1} s)", plain.as_secs_f64());
        println!(
            "  sync client, tus from the vault:           {tus:.0} MiB/s ({:.1} s, one cut and resume included) = {:.2}x the PUT (goal >= 0.8x)",
            elapsed.as_secs_f64(),
            tus / ceiling
        );
        println!(
            "  processor time of this process (both ends, kernel work included): plain PUT {plain_cpu:.1} s, sync client {sync_cpu:.1} s"
        );
        println!(
            "  peak RSS during the upload above idle:     {:.1} MiB (goal <= 32 MiB; intake in the same process counts too)",
            peak_kib.saturating_sub(idle_kib) as f64 / 1024.0
        );
        println!(
            "  bytes sent again after the cut at {:.0} MiB: {resent} (goal <= one chunk, {chunk}); resumed from the server's offset {}",
            cut_at as f64 / (1 << 20) as f64,
            outcome.resumed_from
        );
    });
}

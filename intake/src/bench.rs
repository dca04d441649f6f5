//! `fieldseal-intake bench`: accepted evidences per second and latency with concurrent simulated
//! terminals on loopback, beside the ceiling of the same bodies PUT to a minimal axum handler that
//! only writes them (and fsyncs, as intake does before acknowledging). Figures, not a test.
//!
//! Each evidence is what a terminal really sends: tus create, one PATCH with a SHA-256 chunk
//! checksum, and the signed manifest; its latency runs from the create to the receipt.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::Path, http::StatusCode, routing::put};
use tokio::net::TcpListener;

use crate::{
    clock::SystemClock,
    config::StorageConfig,
    http::{AppState, router, serve},
    ids,
    sim::{SimDevice, http_client},
};

/// How big a run is.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    pub devices: usize,
    pub evidences_per_device: usize,
    pub evidence_bytes: usize,
}

/// One configuration's figures.
#[derive(Debug, Clone)]
pub struct Figures {
    pub label: String,
    pub count: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

fn figures(label: &str, mut latencies: Vec<Duration>, elapsed: Duration) -> Figures {
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Figures {
        label: label.to_owned(),
        count: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn photo(device: usize, n: usize, len: usize) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0];
    bytes.extend(ids::random_bytes(16));
    bytes.extend((0..len.saturating_sub(20)).map(|i| ((i * 7 + device * 13 + n) % 251) as u8));
    bytes
}

async fn spawn_intake(config: &StorageConfig) -> Result<(String, tokio::sync::oneshot::Sender<()>), String> {
    let intake = config.open_with_clock(Arc::new(SystemClock)).await.map_err(|e| e.to_string())?;
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let state = AppState { intake, admin_token: Some(Arc::from("bench")) };
    let app = router(state, Duration::from_secs(120));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve::serve(
        listener,
        app,
        None,
        async {
            let _ = rx.await;
        },
        Duration::from_secs(5),
    ));
    Ok((base, tx))
}

/// Runs the plan against intake instances at `bases` (devices spread round-robin).
async fn run_intake(label: &str, bases: &[String], plan: &BenchPlan) -> Result<Figures, String> {
    let http = http_client();
    let admin = |path: &str, body: serde_json::Value| {
        http.post(format!("{}{path}", bases[0])).header("authorization", "Bearer bench").json(&body).send()
    };
    let register: serde_json::Value =
        serde_json::from_str(include_str!("../../examples/register.json")).map_err(|e| e.to_string())?;
    admin("/admin/v1/register", register).await.map_err(|e| e.to_string())?;
    let mut devices = Vec::new();
    for i in 0..plan.devices {
        let response = admin("/admin/v1/enrolment-codes", serde_json::json!({"inspector_id": "insp-001"}))
            .await
            .map_err(|e| e.to_string())?;
        let code = response.json::<serde_json::Value>().await.map_err(|e| e.to_string())?["code"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let mut device = SimDevice::new(&bases[i % bases.len()], http.clone());
        device.enrol(&code).await?;
        device.login().await?;
        devices.push(device);
    }
    // Evidence ids are unique per run, so a shared database can be benchmarked again.
    let run = ids::random_hex(4);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (d, device) in devices.into_iter().enumerate() {
        let (plan, run) = (plan.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in 0..plan.evidences_per_device {
                let bytes = photo(d, n, plan.evidence_bytes);
                let t = Instant::now();
                device
                    .submit_photo(&format!("bench-{run}-{d}-{n}"), &format!("bench-{run}-{d}"), &bytes)
                    .await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok(figures(label, all, started.elapsed()))
}

/// The ceiling: the same bodies PUT to a handler that writes and fsyncs them.
async fn run_ceiling(dir: PathBuf, plan: &BenchPlan) -> Result<Figures, String> {
    let target = Arc::new(dir);
    let app = Router::new().route(
        "/put/{name}",
        put(move |Path(name): Path<String>, body: Bytes| {
            let target = target.clone();
            async move {
                let path = target.join(name.replace(['/', '.'], "_"));
                let written = tokio::task::spawn_blocking(move || {
                    use std::io::Write;
                    let mut file = std::fs::File::create(path)?;
                    file.write_all(&body)?;
                    file.sync_all()
                })
                .await;
                match written {
                    Ok(Ok(())) => StatusCode::NO_CONTENT,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve::serve(
        listener,
        app,
        None,
        async {
            let _ = rx.await;
        },
        Duration::from_secs(5),
    ));
    let http = http_client();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for d in 0..plan.devices {
        let (http, base, plan) = (http.clone(), base.clone(), plan.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in 0..plan.evidences_per_device {
                let bytes = photo(d, n, plan.evidence_bytes);
                let t = Instant::now();
                let response = http
                    .put(format!("{base}/put/{d}-{n}"))
                    .body(bytes)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status() != StatusCode::NO_CONTENT {
                    return Err(format!("ceiling PUT: {}", response.status()));
                }
                latencies.push(t.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.map_err(|e| e.to_string())??);
    }
    let _ = tx.send(());
    Ok(figures("ceiling: plain axum PUT + fsync", all, started.elapsed()))
}

/// Runs every configuration it can and prints the table. `shared` (PostgreSQL + S3) is optional.
pub async fn run(plan: BenchPlan, shared: Option<StorageConfig>) -> Result<Vec<Figures>, String> {
    let scratch = tempfile_dir()?;
    let mut results = Vec::new();
    results.push(run_ceiling(scratch.join("ceiling"), &plan).await?);

    let local = StorageConfig::local(&scratch.join("sqlite"));
    let (base, stop) = spawn_intake(&local).await?;
    results.push(run_intake("intake: SQLite + directory, 1 instance", &[base], &plan).await?);
    let _ = stop.send(());

    if let Some(shared) = shared {
        let config = StorageConfig {
            data: scratch.join("pg-a"),
            server_key: Some(scratch.join("shared.p8")),
            ..shared.clone()
        };
        let (one, stop_one) = spawn_intake(&config).await?;
        results.push(
            run_intake("intake: PostgreSQL + S3, 1 instance", std::slice::from_ref(&one), &plan).await?,
        );
        let second = StorageConfig { data: scratch.join("pg-b"), ..config.clone() };
        let (two, stop_two) = spawn_intake(&second).await?;
        results.push(run_intake("intake: PostgreSQL + S3, 2 instances", &[one, two], &plan).await?);
        let _ = (stop_one.send(()), stop_two.send(()));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(results)
}

fn tempfile_dir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("fieldseal-intake-bench-{}", ids::random_hex(6)));
    std::fs::create_dir_all(dir.join("ceiling")).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The table, with each configuration's throughput as a fraction of the ceiling measured in the
/// same run.
pub fn print(plan: &BenchPlan, results: &[Figures]) {
    println!(
        "intake bench: {} devices x {} evidences of {} KB each, loopback, {} cores",
        plan.devices,
        plan.evidences_per_device,
        plan.evidence_bytes / 1000,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let ceiling = results.first().map(|f| f.per_second).unwrap_or(f64::NAN);
    println!(
        "{:<42} {:>7} {:>10} {:>9} {:>9} {:>11}",
        "configuration", "count", "per second", "p50 ms", "p99 ms", "x ceiling"
    );
    for f in results {
        println!(
            "{:<42} {:>7} {:>10.1} {:>9.1} {:>9.1} {:>11.2}",
            f.label,
            f.count,
            f.per_second,
            f.p50.as_secs_f64() * 1000.0,
            f.p99.as_secs_f64() * 1000.0,
            f.per_second / ceiling
        );
    }
}

//! The `fieldseal-intake` binary: one command on embedded defaults, the admin commands, HTTPS from
//! certificate files, refusal of plain HTTP off loopback, and graceful shutdown that finishes
//! in-flight requests.

use std::{
    net::TcpListener as StdListener,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use fieldseal_core::protocol::tus;
use fieldseal_intake::{
    ids::sha256_hex,
    sim::{SimDevice, http_client},
};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_fieldseal-intake");

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn admin(data: &Path, args: &[&str]) -> Output {
    let output = Command::new(BIN).arg("admin").arg("--data").arg(data).args(args).output().unwrap();
    assert!(output.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn admin_json(data: &Path, args: &[&str]) -> Value {
    serde_json::from_slice(&admin(data, args).stdout).unwrap()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path, port: u16, extra: &[&str]) -> Server {
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--admin-token", "t0ken"])
        .arg("--data")
        .arg(data)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server(child)
}

async fn wait_ready(http: &reqwest::Client, url: &str) {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(20) {
        match http.get(url).send().await {
            Ok(r) if r.status() == 200 => return,
            Ok(r) => last = r.status().to_string(),
            Err(e) => last = format!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("intake did not become ready at {url}: {last}");
}

fn example(name: &str) -> String {
    format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_serves_on_defaults_and_the_admin_commands_drive_it() {
    let data = tempfile::tempdir().unwrap();
    admin(data.path(), &["import-register", &example("register.json")]);
    let imported =
        admin_json(data.path(), &["import-templates", &example("templates/thermal-power-permit.json")]);
    assert_eq!(imported[0]["ids"][0], "tpl.thermal-power.permit");
    let code = admin_json(data.path(), &["enrol-code", "--inspector", "insp-001"])["code"]
        .as_str()
        .unwrap()
        .to_owned();

    let port = free_port();
    let mut server = serve(data.path(), port, &[]);
    let http = http_client();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&http, &format!("{base}/readyz")).await;
    let mut device = SimDevice::new(&base, http.clone());
    device.enrol(&code).await.unwrap();
    device.login().await.unwrap();
    let photo = vec![7u8; 100_000];
    device.submit_photo("ev-cli", "inspection-cli", &photo).await.unwrap();

    // Graceful shutdown: a PATCH in flight when SIGTERM arrives still completes.
    let other = vec![9u8; 64 * 1024];
    let url = device.create_upload(other.len() as u64, &sha256_hex(&other)).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream(rx));
    let patch = http
        .patch(&url)
        .header("authorization", device.bearer())
        .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
        .header(tus::HEADER_UPLOAD_OFFSET, "0")
        .header("content-type", tus::OFFSET_CONTENT_TYPE)
        .header("content-length", other.len().to_string())
        .body(body)
        .send();
    let in_flight = tokio::spawn(patch);
    tx.send(Ok(other[..1000].to_vec())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(Ok(other[1000..].to_vec())).await.unwrap();
    drop(tx);
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 204, "the in-flight request finished");
    let exit = server.0.wait().unwrap();
    assert!(exit.success(), "intake exits cleanly after SIGTERM: {exit:?}");
    assert!(http.get(format!("{base}/healthz")).send().await.is_err(), "no longer listening");

    let report = admin_json(data.path(), &["report", "--json"]);
    let evidence = &report["inspections"][0]["evidence"][0];
    assert_eq!(evidence["evidence_id"], "ev-cli");
    assert_eq!(evidence["sha256"], sha256_hex(&photo));
    assert_eq!(evidence["verified"], true);
    assert_eq!(evidence["receipt"]["payload"]["sha256"], sha256_hex(&photo));

    // A blob changed on disk after acknowledgement shows as not verified.
    let sha = sha256_hex(&photo);
    let path = data.path().join("blobs").join(&sha[..2]).join(&sha);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let report = admin_json(data.path(), &["report", "--json"]);
    assert_eq!(report["inspections"][0]["evidence"][0]["verified"], false);
    assert_eq!(report["inspections"][0]["evidence"][0]["problems"][0], "blob_hash");
}

/// A stream over a channel, for a request body sent in pieces.
fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[test]
fn plain_http_off_loopback_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .arg("--data")
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("only allowed on loopback"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_a_certificate_and_key_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let port = free_port();
    let _server = serve(
        &dir.path().join("data"),
        port,
        &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()],
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let https = reqwest::Client::builder().tls_certs_only([root]).build().unwrap();
    wait_ready(&https, &format!("https://127.0.0.1:{port}/healthz")).await;
    let key: Value = https
        .get(format!("https://127.0.0.1:{port}/.well-known/fieldseal/server-key"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(key["alg"], "ES256");
    // The same port does not speak plain HTTP.
    assert!(http_client().get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_err());
}

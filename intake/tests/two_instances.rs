//! Two intake processes on different ports sharing one PostgreSQL and one S3 bucket (and the server
//! key file): an upload begun on one is finished on the other, a token from one works on the other,
//! and a duplicate submitted to both at once is stored once.

mod common;

use std::{
    net::TcpListener as StdListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::SharedStores;
use fieldseal_core::protocol::{SignedEnvelope, receipt::Receipt, tus};
use fieldseal_intake::{
    ids::sha256_hex,
    sim::{SimDevice, http_client, manifest_for, seal},
};

const BIN: &str = env!("CARGO_BIN_EXE_fieldseal-intake");

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn storage_args(stores: &SharedStores, key: &std::path::Path, data: &std::path::Path) -> Vec<String> {
    vec![
        "--data".into(),
        data.display().to_string(),
        "--server-key".into(),
        key.display().to_string(),
        "--database-url".into(),
        stores.database_url.clone(),
        "--s3-endpoint".into(),
        stores.s3.endpoint.clone(),
        "--s3-bucket".into(),
        stores.s3.bucket.clone(),
        "--s3-region".into(),
        stores.s3.region.clone(),
        "--s3-access-key-id".into(),
        stores.s3.access_key_id.clone(),
        "--s3-secret-access-key".into(),
        stores.s3.secret_access_key.clone(),
        "--s3-prefix".into(),
        stores.s3.prefix.clone(),
    ]
}

async fn start(stores: &SharedStores, key: &std::path::Path, data: &std::path::Path) -> Instance {
    let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(storage_args(stores, key, data))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // Owned by the guard from here on: dropping it kills and reaps the process.
    let instance = Instance { child, base: base.clone() };
    let http = http_client();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return instance;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("instance on {port} did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_begun_on_one_instance_is_finished_on_the_other_and_a_duplicate_is_stored_once() {
    let stores = SharedStores::fresh().await;
    let shared = tempfile::tempdir().unwrap();
    let key = shared.path().join("server-key.p8");
    let (data_a, data_b) = (shared.path().join("a"), shared.path().join("b"));
    // The register and a code, through the admin command on the shared stores.
    let admin = |args: &[&str]| {
        let output = Command::new(BIN)
            .arg("admin")
            .args(storage_args(&stores, &key, &data_a))
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    admin(&["import-register", &format!("{}/../examples/register.json", env!("CARGO_MANIFEST_DIR"))]);
    let code = admin(&["enrol-code", "--inspector", "insp-001"])["code"].as_str().unwrap().to_owned();

    let a = start(&stores, &key, &data_a).await;
    let b = start(&stores, &key, &data_b).await;
    let http = http_client();
    let mut on_a = SimDevice::new(&a.base, http.clone());
    on_a.enrol(&code).await.unwrap();
    on_a.login().await.unwrap();
    // The same device, talking to B with the token A issued.
    let on_b = SimDevice {
        base: b.base.clone(),
        http: http.clone(),
        signer: std::mem::replace(&mut on_a.signer, fieldseal_intake::sim::new_signer()),
        device_id: on_a.device_id.clone(),
        token: on_a.token.clone(),
    };

    let photo: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let sha = sha256_hex(&photo);
    let url_a = on_a.create_upload(photo.len() as u64, &sha).await.unwrap();
    assert_eq!(on_a.patch(&url_a, 0, &photo[..120_000]).await.unwrap(), (204, Some(120_000)));
    let url_b = url_a.replace(&a.base, &b.base);
    let head = http
        .head(&url_b)
        .header("authorization", on_b.bearer())
        .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()[tus::HEADER_UPLOAD_OFFSET], "120000", "B sees the offset A stored");
    assert_eq!(
        on_b.patch(&url_b, 120_000, &photo[120_000..]).await.unwrap(),
        (204, Some(photo.len() as u64))
    );

    // A duplicate manifest to both instances at once: one statement, one receipt.
    let manifest = manifest_for("ev-two", "inspection-two", &photo, &on_b.signer);
    let (one, two) = (seal(&manifest, &on_b.signer), seal(&manifest, &on_b.signer));
    let on_a_again = SimDevice {
        base: a.base.clone(),
        http: http.clone(),
        signer: fieldseal_intake::sim::new_signer(),
        device_id: on_b.device_id.clone(),
        token: on_b.token.clone(),
    };
    let (x, y) = tokio::join!(
        on_a_again.post_envelope("/v1/evidence", &one),
        on_b.post_envelope("/v1/evidence", &two)
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.0, 200, "{}", x.1);
    assert_eq!(x, y, "both instances answer with the one stored receipt");
    let key_info: fieldseal_core::protocol::receipt::ServerKeyInfo = http
        .get(format!("{}/.well-known/fieldseal/server-key", b.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let receipt: SignedEnvelope = serde_json::from_value(x.1["receipt"].clone()).unwrap();
    assert_eq!(Receipt::open(&receipt, &key_info.public_key_bytes().unwrap()).unwrap().sha256, sha);

    let report = admin(&["report", "--json"]);
    let evidence = report["inspections"][0]["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 1, "stored once");
    assert_eq!(evidence[0]["verified"], true);
    assert_eq!(evidence[0]["size"], photo.len());
}

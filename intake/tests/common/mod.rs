//! A real intake on 127.0.0.1 for the integration tests, over the storage pair a test chooses.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

pub mod suite;

use std::{sync::Arc, time::Duration};

use fieldseal_intake::{
    Intake,
    clock::OffsetClock,
    config::StorageConfig,
    http::{AppState, router, serve},
    sim::{SimDevice, http_client},
};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot};

pub const ADMIN_TOKEN: &str = "test-admin-token";

pub fn example(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../examples/{path}", env!("CARGO_MANIFEST_DIR")))
        .expect("example file")
}

pub struct Harness {
    pub base: String,
    pub clock: OffsetClock,
    pub intake: Intake,
    pub http: reqwest::Client,
    pub data: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Harness {
    /// SQLite + blob directory in a fresh temporary data directory.
    pub async fn sqlite() -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let clock = OffsetClock::default();
        let config = StorageConfig::local(data.path());
        let intake = config.open_with_clock(Arc::new(clock.clone())).await.expect("intake opens");
        Self::serve(intake, clock, data).await
    }

    /// Serves `intake` on an ephemeral loopback port.
    pub async fn serve(intake: Intake, clock: OffsetClock, data: tempfile::TempDir) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState { intake: intake.clone(), admin_token: Some(Arc::from(ADMIN_TOKEN)) };
        let app = router(state, Duration::from_secs(30));
        let (tx, rx) = oneshot::channel::<()>();
        let served = tokio::spawn(serve::serve(
            listener,
            app,
            None,
            async {
                let _ = rx.await;
            },
            Duration::from_secs(5),
        ));
        Harness { base, clock, intake, http: http_client(), data, shutdown: Some(tx), served: Some(served) }
    }

    /// Stops the server, waiting for in-flight requests.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.expect("server task").expect("server ends cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn import_examples(&self) {
        let register: Value = serde_json::from_str(&example("register.json")).unwrap();
        let (status, body) = self.admin(reqwest::Method::POST, "/admin/v1/register", Some(register)).await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn enrolment_code(&self, inspector: &str) -> String {
        let (status, body) = self
            .admin(
                reqwest::Method::POST,
                "/admin/v1/enrolment-codes",
                Some(json!({"inspector_id": inspector})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["code"].as_str().unwrap().to_owned()
    }

    /// A device enrolled for `insp-001` and holding a token.
    pub async fn device(&self) -> SimDevice {
        let code = self.enrolment_code("insp-001").await;
        let mut device = SimDevice::new(&self.base, self.http.clone());
        device.enrol(&code).await.expect("enrols");
        device.login().await.expect("gets a token");
        device
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Generates one `#[tokio::test]` per suite function, each on a harness from `$make`.
#[macro_export]
macro_rules! storage_suite {
    ($make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let harness = $make.await;
                harness.import_examples().await;
                common::suite::$name(&harness).await;
            }
        )*
    };
}

/// The PostgreSQL and S3 the test script started, each test in its own schema and bucket.
/// Without them the test fails with the reason: it never skips.
pub struct SharedStores {
    pub database_url: String,
    pub s3: fieldseal_intake::store::s3::S3Config,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through scripts/test-all.sh, or `source scripts/services.sh` first, to start PostgreSQL and the S3 server on 127.0.0.1")
    })
}

impl SharedStores {
    pub async fn fresh() -> Self {
        let base = required("FIELDSEAL_TEST_PG_URL");
        let endpoint = required("FIELDSEAL_TEST_S3_ENDPOINT");
        let tag = fieldseal_intake::ids::random_hex(6);
        let schema = format!("t_{tag}");
        let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at FIELDSEAL_TEST_PG_URL does not answer: {e}"));
        tokio::spawn(connection);
        client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create test schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        SharedStores {
            database_url: format!("{base}{separator}options=-csearch_path%3D{schema}"),
            s3: fieldseal_intake::store::s3::S3Config {
                endpoint,
                bucket: format!("fieldseal-{tag}"),
                region: std::env::var("FIELDSEAL_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
                access_key_id: std::env::var("FIELDSEAL_TEST_S3_ACCESS_KEY_ID").unwrap_or_default(),
                secret_access_key: std::env::var("FIELDSEAL_TEST_S3_SECRET_ACCESS_KEY").unwrap_or_default(),
                prefix: "intake/".into(),
            },
        }
    }

    pub fn config(&self, data: &std::path::Path) -> StorageConfig {
        StorageConfig {
            database_url: Some(self.database_url.clone()),
            database_pool: 8,
            s3: Some(self.s3.clone()),
            ..StorageConfig::local(data)
        }
    }
}

impl Harness {
    /// PostgreSQL + S3, fresh schema and bucket.
    pub async fn postgres_s3() -> Self {
        let stores = SharedStores::fresh().await;
        let data = tempfile::tempdir().expect("temp dir");
        let clock = OffsetClock::default();
        let intake = stores
            .config(data.path())
            .open_with_clock(Arc::new(clock.clone()))
            .await
            .expect("intake opens on PostgreSQL + S3");
        Self::serve(intake, clock, data).await
    }
}

//! The demo's intake: started here on 127.0.0.1 (SQLite and a blob directory in the demo folder,
//! an admin token made for this run), or one already running at `--intake URL` with the admin
//! token from `FIELDSEAL_ADMIN_TOKEN`. Either way it is seeded through its admin API, as a
//! province's operator would: the example register, the templates and the demo's task, then a
//! one-time enrolment code for the first inspector.

use std::{path::Path, sync::Arc, time::Duration};

use fieldseal_core::model::Task;
use fieldseal_intake::{
    config::StorageConfig,
    http::{AppState, router, serve},
};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot};

pub const ADMIN_TOKEN_VAR: &str = "FIELDSEAL_ADMIN_TOKEN";

/// An intake the demo talks to, and how to reach its admin API.
pub struct DemoIntake {
    pub base_url: String,
    token: String,
    http: reqwest::Client,
    /// Stops the intake started here when the demo ends.
    _stop: Option<oneshot::Sender<()>>,
}

fn fresh_token() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "no system randomness for the admin token".to_owned())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn client(ca_pem: Option<&str>) -> Result<reqwest::Client, String> {
    // The CLI is its own process: one process-wide rustls provider (ring) is fine here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60));
    if let Some(pem) = ca_pem {
        let ca = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|e| format!("--ca: {e}"))?;
        builder = builder.tls_certs_only([ca]);
    }
    builder.build().map_err(|e| e.to_string())
}

impl DemoIntake {
    /// Starts intake in `data` on an ephemeral loopback port, on the caller's runtime.
    pub async fn start(data: &Path) -> Result<Self, String> {
        let intake = StorageConfig::local(data).open().await.map_err(|e| format!("intake: {e}"))?;
        let token = fresh_token()?;
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("intake: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let app = router(
            AppState { intake, admin_token: Some(Arc::from(token.as_str())) },
            Duration::from_secs(120),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        tokio::spawn(serve::serve(listener, app, None, shutdown, Duration::from_secs(5)));
        Ok(DemoIntake { base_url: format!("http://{addr}"), token, http: client(None)?, _stop: Some(stop) })
    }

    /// An intake already running at `url`; the admin token comes from the environment.
    pub fn connect(url: &str, ca_pem: Option<&str>) -> Result<Self, String> {
        let token = std::env::var(ADMIN_TOKEN_VAR)
            .map_err(|_| format!("--intake needs the intake's admin token in {ADMIN_TOKEN_VAR}"))?;
        Ok(DemoIntake {
            base_url: url.trim_end_matches('/').to_owned(),
            token,
            http: client(ca_pem)?,
            _stop: None,
        })
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Value, String> {
        let mut request =
            self.http.request(method, format!("{}{path}", self.base_url)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let answer = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| format!("{path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{path}: intake answered {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
    }

    /// Publishes the register, the templates and `task` for `team`; returns the enrolment code
    /// for `team[0]`.
    pub async fn seed(
        &self,
        register: &str,
        templates: &[&str],
        task: &Task,
        team: &[&str],
    ) -> Result<String, String> {
        use reqwest::Method;
        self.admin(Method::POST, "/admin/v1/register", Some(register.to_owned())).await?;
        for template in templates {
            self.admin(Method::POST, "/admin/v1/templates", Some((*template).to_owned())).await?;
        }
        let mut assigned = serde_json::to_value(task).map_err(|e| e.to_string())?;
        assigned["inspectors"] = json!(team);
        self.admin(Method::POST, "/admin/v1/tasks", Some(json!({ "tasks": [assigned] }).to_string())).await?;
        let issued = self
            .admin(
                Method::POST,
                "/admin/v1/enrolment-codes",
                Some(json!({ "inspector_id": team[0] }).to_string()),
            )
            .await?;
        issued["code"].as_str().map(str::to_owned).ok_or_else(|| format!("no code in {issued}"))
    }

    /// What intake holds: (evidence items, of them verified, records, trail heads).
    pub async fn holdings(&self) -> Result<(usize, usize, usize, usize), String> {
        let report = self.admin(reqwest::Method::GET, "/admin/v1/report", None).await?;
        let inspections = report["inspections"].as_array().cloned().unwrap_or_default();
        let count = |key: &str, verified_only: bool| {
            inspections
                .iter()
                .flat_map(|i| i[key].as_array().cloned().unwrap_or_default())
                .filter(|e| !verified_only || e["verified"] == json!(true))
                .count()
        };
        Ok((
            count("evidence", false),
            count("evidence", true),
            count("records", false),
            count("trail_heads", false),
        ))
    }
}

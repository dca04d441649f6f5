//! `fieldseal-intake serve | admin` — see intake/README.md.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use clap::{Args, Parser, Subcommand};
use fieldseal_intake::{
    config::StorageConfig,
    http::{AppState, router, serve},
    store::s3::S3Config,
};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "fieldseal-intake", about = "The reference provincial intake service for fieldseal.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(ServeArgs),
    /// Operator commands on the stores directly.
    Admin(AdminArgs),
    /// Throughput benchmark: simulated terminals on loopback beside a plain-PUT ceiling. With
    /// --database-url and --s3-endpoint/--s3-bucket it also runs PostgreSQL + S3 with one and two
    /// instances.
    Bench(BenchArgs),
    /// Enrol a simulated terminal with a one-time code and print its device id and a token (for
    /// driving intake with standard tools such as a tus client).
    SimToken {
        #[arg(long)]
        url: String,
        #[arg(long)]
        code: String,
    },
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    storage: StorageArgs,
    #[arg(long, default_value_t = 50)]
    devices: usize,
    #[arg(long, default_value_t = 20)]
    evidences: usize,
    /// Size of each evidence in kilobytes (1000 bytes).
    #[arg(long, default_value_t = 100)]
    kb: usize,
}

#[derive(Args)]
struct StorageArgs {
    /// Data directory (SQLite database, blob directory, server key).
    #[arg(long, env = "FIELDSEAL_INTAKE_DATA", default_value = "./intake-data")]
    data: PathBuf,
    /// The server's ES256 key (PKCS#8), created when missing. Default: DATA/server-key.p8.
    /// Instances sharing PostgreSQL and S3 must be given the same file.
    #[arg(long, env = "FIELDSEAL_INTAKE_SERVER_KEY")]
    server_key: Option<PathBuf>,
    /// PostgreSQL for metadata instead of SQLite (`postgres://user:password@host/db`).
    #[arg(long, env = "FIELDSEAL_INTAKE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Connections per instance to PostgreSQL.
    #[arg(long, env = "FIELDSEAL_INTAKE_DATABASE_POOL", default_value_t = 16)]
    database_pool: usize,
    /// S3-compatible endpoint for blobs instead of the blob directory (path-style requests).
    #[arg(long, env = "FIELDSEAL_INTAKE_S3_ENDPOINT", requires = "s3_bucket")]
    s3_endpoint: Option<String>,
    #[arg(long, env = "FIELDSEAL_INTAKE_S3_BUCKET")]
    s3_bucket: Option<String>,
    #[arg(long, env = "FIELDSEAL_INTAKE_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
    #[arg(long, env = "FIELDSEAL_INTAKE_S3_ACCESS_KEY_ID", default_value = "")]
    s3_access_key_id: String,
    #[arg(long, env = "FIELDSEAL_INTAKE_S3_SECRET_ACCESS_KEY", default_value = "", hide_env_values = true)]
    s3_secret_access_key: String,
    /// Prefix for every object key, so deployments can share a bucket.
    #[arg(long, env = "FIELDSEAL_INTAKE_S3_PREFIX", default_value = "")]
    s3_prefix: String,
}

impl StorageArgs {
    fn config(&self) -> StorageConfig {
        StorageConfig {
            data: self.data.clone(),
            server_key: self.server_key.clone(),
            database_url: self.database_url.clone(),
            database_pool: self.database_pool,
            s3: match (&self.s3_endpoint, &self.s3_bucket) {
                (Some(endpoint), Some(bucket)) => Some(S3Config {
                    endpoint: endpoint.clone(),
                    bucket: bucket.clone(),
                    region: self.s3_region.clone(),
                    access_key_id: self.s3_access_key_id.clone(),
                    secret_access_key: self.s3_secret_access_key.clone(),
                    prefix: self.s3_prefix.clone(),
                }),
                _ => None,
            },
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Address to listen on. Plain HTTP is allowed only on loopback.
    #[arg(long, env = "FIELDSEAL_INTAKE_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM). With --tls-key, intake serves HTTPS.
    #[arg(long, env = "FIELDSEAL_INTAKE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "FIELDSEAL_INTAKE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Bearer token for the admin API; without it the admin API refuses every request.
    #[arg(long, env = "FIELDSEAL_INTAKE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Log one JSON object per line.
    #[arg(long, env = "FIELDSEAL_INTAKE_LOG_JSON")]
    log_json: bool,
    /// Longest time one request may take.
    #[arg(long, env = "FIELDSEAL_INTAKE_REQUEST_TIMEOUT_SECS", default_value_t = 120)]
    request_timeout_secs: u64,
}

#[derive(Args)]
struct AdminArgs {
    #[command(flatten)]
    storage: StorageArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Import (replace) the register: inspectors, enterprises, permits (examples/register.json).
    ImportRegister { file: PathBuf },
    /// Import checklist templates (one template or an array per file).
    ImportTemplates { files: Vec<PathBuf> },
    /// Import tasks: `{"tasks": [...]}`, each a task with `inspectors`.
    ImportTasks { file: PathBuf },
    /// Issue a one-time enrolment code for an inspector.
    EnrolCode {
        #[arg(long)]
        inspector: String,
    },
    /// Revoke a device.
    Revoke {
        #[arg(long)]
        device: String,
    },
    /// List enrolled devices.
    Devices,
    /// Every stored inspection, its evidence (hashes, verified now) and receipts.
    Report {
        #[arg(long)]
        json: bool,
    },
}

fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json { builder.json().init() } else { builder.init() }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve_command(args).await,
        Command::Admin(args) => {
            init_logging(false);
            admin_command(args).await
        }
        Command::Bench(args) => bench_command(args).await,
        Command::SimToken { url, code } => sim_token(&url, &code).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fieldseal-intake: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_command(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    init_logging(args.log_json);
    let intake = args.storage.config().open().await?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(serve::tls_acceptor(cert, key)?),
        _ => {
            serve::check_plain_http_allowed(args.listen)?;
            None
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, tls = tls.is_some(), "fieldseal-intake listening");
    let state = AppState { intake, admin_token: args.admin_token.map(Arc::from) };
    let app = router(state, Duration::from_secs(args.request_timeout_secs));
    serve::serve(listener, app, tls, shutdown_signal(), Duration::from_secs(30)).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

fn read(path: &PathBuf) -> Result<String, Box<dyn std::error::Error>> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

async fn admin_command(args: AdminArgs) -> Result<(), Box<dyn std::error::Error>> {
    let intake = args.storage.config().open().await?;
    let out = match args.command {
        AdminCommand::ImportRegister { file } => {
            serde_json::to_value(intake.import_register(&read(&file)?).await?)?
        }
        AdminCommand::ImportTemplates { files } => {
            let mut all = Vec::new();
            for file in &files {
                all.push(serde_json::to_value(intake.import_templates(&read(file)?).await?)?);
            }
            serde_json::Value::Array(all)
        }
        AdminCommand::ImportTasks { file } => {
            serde_json::to_value(intake.import_tasks(&read(&file)?).await?)?
        }
        AdminCommand::EnrolCode { inspector } => {
            let (code, row) = intake.issue_enrolment_code(&inspector).await?;
            serde_json::json!({"code": code, "inspector_id": row.inspector_id, "expires_at": row.expires_at})
        }
        AdminCommand::Revoke { device } => {
            intake.revoke(&device).await?;
            serde_json::json!({"device_id": device, "revoked": true})
        }
        AdminCommand::Devices => serde_json::json!({"devices": intake.meta.devices().await?}),
        AdminCommand::Report { json: _ } => serde_json::to_value(intake.report().await?)?,
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

async fn bench_command(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let plan = fieldseal_intake::bench::BenchPlan {
        devices: args.devices,
        evidences_per_device: args.evidences,
        evidence_bytes: args.kb * 1000,
    };
    let config = args.storage.config();
    let shared = (config.database_url.is_some() && config.s3.is_some()).then_some(config);
    let results = fieldseal_intake::bench::run(plan.clone(), shared).await?;
    fieldseal_intake::bench::print(&plan, &results);
    Ok(())
}

async fn sim_token(url: &str, code: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut device = fieldseal_intake::sim::SimDevice::new(url, fieldseal_intake::sim::http_client());
    device.enrol(code).await?;
    let grant = device.login().await?;
    println!(
        "{}",
        serde_json::json!({"device_id": device.device_id, "token": grant.token, "expires_at": grant.expires_at})
    );
    Ok(())
}

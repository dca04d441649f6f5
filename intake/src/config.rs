//! Opening intake from settings: the storage pair, the server key, and the service.
//!
//! Embedded defaults need nothing: SQLite and a blob directory in the data directory. With a
//! database URL the metadata goes to PostgreSQL; with an S3 endpoint and bucket the blobs go to
//! object storage. Both together make instances stateless (each needs only the shared server key).

use std::{path::PathBuf, sync::Arc};

use crate::{
    clock::{Clock, SystemClock},
    error::{IntakeError, Result},
    keys::ServerKey,
    service::Intake,
    store::{
        Blobs, Metadata,
        dir::DirBlobs,
        postgres::PostgresMetadata,
        s3::{S3Blobs, S3Config},
        sqlite::SqliteMetadata,
    },
};

/// Where intake keeps its state.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The data directory: `intake.db`, `blobs/`, the server key (unless given elsewhere).
    pub data: PathBuf,
    /// The server key file; default `DATA/server-key.p8`.
    pub server_key: Option<PathBuf>,
    /// PostgreSQL instead of SQLite.
    pub database_url: Option<String>,
    pub database_pool: usize,
    /// S3-compatible object storage instead of the blob directory.
    pub s3: Option<S3Config>,
}

impl StorageConfig {
    /// SQLite and a blob directory under `data`, the key beside them.
    pub fn local(data: &std::path::Path) -> Self {
        StorageConfig {
            data: data.to_owned(),
            server_key: None,
            database_url: None,
            database_pool: 16,
            s3: None,
        }
    }

    pub fn server_key_path(&self) -> PathBuf {
        self.server_key.clone().unwrap_or_else(|| self.data.join("server-key.p8"))
    }

    pub async fn open_stores(&self) -> Result<(Arc<dyn Metadata>, Arc<dyn Blobs>)> {
        let local = self.database_url.is_none() || self.s3.is_none();
        if local {
            std::fs::create_dir_all(&self.data)
                .map_err(|e| IntakeError::storage(format!("data directory {}: {e}", self.data.display())))?;
        }
        let meta: Arc<dyn Metadata> = match &self.database_url {
            Some(url) => Arc::new(PostgresMetadata::connect(url, self.database_pool).await?),
            None => {
                let path = self.data.join("intake.db");
                Arc::new(
                    tokio::task::spawn_blocking(move || SqliteMetadata::open(&path))
                        .await
                        .map_err(IntakeError::internal)??,
                )
            }
        };
        let blobs: Arc<dyn Blobs> = match &self.s3 {
            Some(config) => {
                let s3 = S3Blobs::new(config.clone())?;
                s3.ensure_bucket().await?;
                Arc::new(s3)
            }
            None => Arc::new(DirBlobs::open(&self.data)?),
        };
        Ok((meta, blobs))
    }

    pub async fn open(&self) -> Result<Intake> {
        self.open_with_clock(Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(&self, clock: Arc<dyn Clock>) -> Result<Intake> {
        let (meta, blobs) = self.open_stores().await?;
        let key = ServerKey::load_or_create(&self.server_key_path())?;
        Ok(Intake::new(meta, blobs, key, clock))
    }
}

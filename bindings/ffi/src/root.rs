//! The root object the app opens once and keeps for its lifetime.

use std::sync::Arc;

use fieldseal_core::{
    CORE_VERSION,
    crypto::{DeviceSigner as _, signer::key_id},
    outbox,
    store::Store,
};

use crate::{
    DeviceSigner, FieldsealError, KeyVault,
    guard::guard,
    platform::{PlatformKeyVault, PlatformSigner},
};

/// An open fieldseal installation: the encrypted store, the device signer and a worker runtime for
/// long operations (ingest, sync). Safe to share across threads.
#[derive(uniffi::Object)]
pub struct Fieldseal {
    pub(crate) store: Arc<Store>,
    pub(crate) signer: Arc<PlatformSigner>,
    pub(crate) runtime: tokio::runtime::Runtime,
}

/// What the settings / diagnostics screen shows about the installation.
#[derive(Debug, Clone, uniffi::Record)]
pub struct StoreStatus {
    pub schema_version: i64,
    pub core_version: String,
    pub device_key_id: String,
    pub outbox_pending: u64,
    pub outbox_wedged: u64,
    pub outbox_acknowledged: u64,
}

#[uniffi::export]
impl Fieldseal {
    /// Opens (or creates) the installation in `data_dir`, an app-private directory.
    /// Fails with a typed error, never deleting or recreating anything it cannot open.
    #[uniffi::constructor]
    pub fn open(
        data_dir: String,
        key_vault: Arc<dyn KeyVault>,
        signer: Arc<dyn DeviceSigner>,
    ) -> Result<Arc<Self>, FieldsealError> {
        guard(|| {
            let store = Store::open(&data_dir, &PlatformKeyVault(key_vault))?;
            // Before anything can start an ingest: orphan blobs and last run's viewing copies go.
            fieldseal_core::startup::recover(&store)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("fieldseal-worker")
                .enable_all()
                .build()
                .map_err(|e| FieldsealError::internal(&format!("worker runtime: {e}")))?;
            Ok(Arc::new(Fieldseal {
                store: Arc::new(store),
                signer: Arc::new(PlatformSigner(signer)),
                runtime,
            }))
        })
    }

    pub fn status(&self) -> Result<StoreStatus, FieldsealError> {
        guard(|| {
            let outbox = self.store.read(|conn, _| outbox::status(conn))?;
            Ok(StoreStatus {
                schema_version: self.store.schema_version()?,
                core_version: CORE_VERSION.to_owned(),
                device_key_id: self.device_key_id()?,
                outbox_pending: outbox.pending + outbox.in_flight,
                outbox_wedged: outbox.wedged,
                outbox_acknowledged: outbox.acknowledged,
            })
        })
    }

    /// The device key's id, as it appears in every signed envelope from this device.
    pub fn device_key_id(&self) -> Result<String, FieldsealError> {
        guard(|| {
            Ok(key_id(&self.signer.public_key().map_err(fieldseal_core::Error::from)?)
                .map_err(fieldseal_core::Error::from)?)
        })
    }
}

impl Drop for Fieldseal {
    fn drop(&mut self) {
        // The app may release the object from a thread inside the runtime; never block there.
        let runtime = std::mem::replace(
            &mut self.runtime,
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("an idle current-thread runtime needs no resources"),
        );
        runtime.shutdown_background();
    }
}

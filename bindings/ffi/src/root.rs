//! The root object the app opens once and keeps for its lifetime.

use std::sync::Arc;

use fieldseal_core::{
    FieldsealError, Installation, Note, RegisterInspector, RegisterSummary, StoreStatus, SystemClock, Task,
    TaskRow, TemplateSummary, TrailVerification, VerifiedStatement, trail::anchor::AnchorStrength,
};

use crate::{
    DeviceSigner, InspectionSession, KeyVault, TrailCheckpointStore,
    guard::{guard, guard_blocking},
    platform::{CheckpointedKeyVault, PlatformKeyVault, PlatformSigner},
};

/// An open fieldseal installation (the core's [`Installation`]) and a worker runtime for long
/// operations (ingest, sync). Safe to share across threads.
#[derive(uniffi::Object)]
pub struct Fieldseal {
    pub(crate) core: Installation,
    pub(crate) runtime: tokio::runtime::Runtime,
}

impl Fieldseal {
    fn with_runtime(core: Installation) -> Result<Arc<Self>, FieldsealError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fieldseal-worker")
            .enable_all()
            .build()
            .map_err(|e| FieldsealError::internal_panic(&format!("worker runtime: {e}")))?;
        Ok(Arc::new(Fieldseal { core, runtime }))
    }
}

#[uniffi::export]
impl Fieldseal {
    /// Opens (or creates) the installation in `data_dir`, an app-private directory, and runs
    /// startup recovery. Fails with a typed error, never deleting or recreating anything it cannot
    /// open.
    #[uniffi::constructor]
    pub fn open(
        data_dir: String,
        key_vault: Arc<dyn KeyVault>,
        signer: Arc<dyn DeviceSigner>,
    ) -> Result<Arc<Self>, FieldsealError> {
        guard(|| {
            let signer = Arc::new(PlatformSigner(signer));
            let core =
                Installation::open(&data_dir, &PlatformKeyVault(key_vault), signer, Arc::new(SystemClock))?;
            Self::with_runtime(core)
        })
    }

    /// [`Fieldseal::open`] with the platform's trail checkpoint storage: the trail's signed heads
    /// are then checked against a checkpoint kept outside the database (restoring an older
    /// database is detected), and recovery may remove a blob provably never committed.
    #[uniffi::constructor]
    pub fn open_with_checkpoint(
        data_dir: String,
        key_vault: Arc<dyn KeyVault>,
        signer: Arc<dyn DeviceSigner>,
        checkpoint: Arc<dyn TrailCheckpointStore>,
    ) -> Result<Arc<Self>, FieldsealError> {
        guard(|| {
            let signer = Arc::new(PlatformSigner(signer));
            let vault = CheckpointedKeyVault { vault: PlatformKeyVault(key_vault), checkpoint };
            let core = Installation::open(&data_dir, &vault, signer, Arc::new(SystemClock))?;
            Self::with_runtime(core)
        })
    }

    /// 完整性核验 — checks evidence, inspection states, the trail and its signed heads against
    /// each other and the checkpoint; lists the quarantine. Problems are lines in the report.
    pub fn verify_trail(&self) -> Result<TrailVerification, FieldsealError> {
        guard(|| Ok(self.core.verify_trail()?))
    }

    /// How strongly the trail is anchored here (weaker without checkpoint storage).
    pub fn anchor_strength(&self) -> AnchorStrength {
        self.core.anchor_strength()
    }

    pub fn status(&self) -> Result<StoreStatus, FieldsealError> {
        guard(|| Ok(self.core.status()?))
    }

    /// The device key's id, as it appears in every signed envelope from this device.
    pub fn device_key_id(&self) -> Result<String, FieldsealError> {
        guard(|| Ok(self.core.device_key_id()?))
    }

    /// This device's public key (65-byte SEC1), for enrolment with the provincial system.
    pub fn device_public_key(&self) -> Result<Vec<u8>, FieldsealError> {
        guard(|| Ok(self.core.device_public_key()?))
    }

    // ---- register, templates, tasks ----

    /// Stores a register snapshot (JSON) after validating it; every problem is reported.
    pub fn import_register(&self, json: String) -> Result<RegisterSummary, FieldsealError> {
        guard(|| Ok(self.core.inspections().import_register(&json)?))
    }

    /// Stores a checklist template (JSON) after validating it; an error names the item and the rule.
    pub fn import_template(&self, json: String) -> Result<TemplateSummary, FieldsealError> {
        guard(|| Ok(self.core.inspections().import_template(&json)?))
    }

    /// The inspectors of the newest register on the device, with whether each certificate can be
    /// used today.
    pub fn register_inspectors(&self) -> Result<Vec<RegisterInspector>, FieldsealError> {
        guard(|| Ok(self.core.inspections().register_inspectors()?))
    }

    /// The task list, soonest first.
    pub fn task_list(&self) -> Result<Vec<TaskRow>, FieldsealError> {
        guard(|| Ok(self.core.inspections().task_list()?))
    }

    /// Creates a draft inspection for a task, with a fresh id.
    pub fn create_inspection(&self, task: Task) -> Result<Arc<InspectionSession>, FieldsealError> {
        guard(|| Ok(Arc::new(InspectionSession(self.core.inspections().create(task)?))))
    }

    /// Opens a stored inspection; `NotFound` when there is none with this id.
    pub fn inspection(&self, id: String) -> Result<Arc<InspectionSession>, FieldsealError> {
        guard(|| Ok(Arc::new(InspectionSession(self.core.inspections().open(&id)?))))
    }

    // ---- 现场备注 ----

    pub fn add_note(
        &self,
        inspection_id: Option<String>,
        title: String,
        body: String,
    ) -> Result<Note, FieldsealError> {
        guard(|| Ok(self.core.add_note(inspection_id.as_deref(), &title, &body)?))
    }

    pub fn note(&self, id: String) -> Result<Note, FieldsealError> {
        guard(|| Ok(self.core.note(&id)?))
    }

    /// Notes newest first.
    pub fn notes(&self) -> Result<Vec<Note>, FieldsealError> {
        guard(|| Ok(self.core.notes()?))
    }

    // ---- signed statements ----

    /// Signs a JSON object with the device key and returns the envelope as canonical JSON. Runs off
    /// the caller's thread: a hardware key may take a moment or ask for the user.
    pub async fn sign_statement(&self, payload_json: String) -> Result<String, FieldsealError> {
        let core = self.core.clone();
        guard_blocking(&self.runtime, move || Ok(core.sign_statement(&payload_json)?)).await
    }

    /// Checks an envelope against `public_key` (65-byte SEC1); any change to payload or signature fails.
    pub fn verify_statement(
        &self,
        envelope_json: String,
        public_key: Vec<u8>,
    ) -> Result<VerifiedStatement, FieldsealError> {
        guard(|| Ok(self.core.verify_statement(&envelope_json, &public_key)?))
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

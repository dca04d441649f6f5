//! 同步 — the installation's sync service (the core's [`fieldseal_core::SyncEngine`]): enrolment,
//! a pass now (cancellable), the background pass the platform scheduler runs, the upload status,
//! and retry / discard of stopped uploads. Passes run on the root object's worker runtime (reqwest
//! needs tokio), so the app awaits them from any coroutine or Swift task.

use std::{sync::Arc, time::Duration};

use fieldseal_core::{
    EnrolmentSummary, FieldsealError, ReceiptCheck, SyncOutcome, SyncSettings, SyncStatus,
    evidence::CancelToken, outbox::NetworkPolicy,
};

use crate::{
    CancelHandle, Fieldseal,
    evidence::CancelOnDrop,
    guard::{guard, guard_spawned},
};

/// 同步 — uploads to the province's intake for the open installation.
#[derive(uniffi::Object)]
pub struct SyncEngine {
    /// Keeps the installation and the worker runtime alive while a pass may be running.
    root: Arc<Fieldseal>,
    core: fieldseal_core::SyncEngine,
}

#[uniffi::export]
impl Fieldseal {
    /// The sync service for the intake in `settings` (the province's address and CA).
    pub fn sync_engine(self: Arc<Self>, settings: SyncSettings) -> Result<Arc<SyncEngine>, FieldsealError> {
        guard(|| Ok(Arc::new(SyncEngine { core: self.core.sync(&settings)?, root: self })))
    }
}

#[uniffi::export]
impl SyncEngine {
    /// 设备注册 — enrols this device with the administrator's one-time code.
    pub async fn enrol(
        &self,
        code: String,
        label: Option<String>,
    ) -> Result<EnrolmentSummary, FieldsealError> {
        let core = self.core.clone();
        guard_spawned(&self.root.runtime, async move { Ok(core.enrol(&code, label).await?) }).await
    }

    /// The enrolment kept on the device, if any.
    pub fn enrolment(&self) -> Result<Option<EnrolmentSummary>, FieldsealError> {
        guard(|| Ok(self.core.enrolment()?))
    }

    /// Sends what is due under `network` until nothing more can be sent now, `budget_ms` is spent,
    /// or `cancel` is cancelled (also when the awaiting coroutine or task is cancelled). What was
    /// sent is kept; the rest resumes at the next pass from the server's offset.
    pub async fn sync_now(
        &self,
        network: NetworkPolicy,
        cancel: Arc<CancelHandle>,
        budget_ms: u64,
    ) -> Result<SyncOutcome, FieldsealError> {
        let core = self.core.clone();
        let token = cancel.token.clone();
        let mut on_drop = CancelOnDrop(Some(token.clone()));
        let pass = async move { Ok(core.sync_now(network, &token, Duration::from_millis(budget_ms)).await?) };
        let outcome = guard_spawned(&self.root.runtime, pass).await;
        on_drop.0 = None;
        outcome
    }

    /// The hook for WorkManager's `doWork` and a BGTaskScheduler task: one pass bounded by
    /// `budget_ms`; the outcome says whether and when to run again, and on which network.
    pub async fn background_pass(
        &self,
        network: NetworkPolicy,
        budget_ms: u64,
    ) -> Result<SyncOutcome, FieldsealError> {
        let core = self.core.clone();
        // WorkManager stops a worker by cancelling its coroutine, which frees this future: the
        // pass spawned on the worker runtime stops with it instead of running on unseen.
        let token = CancelToken::new();
        let mut on_drop = CancelOnDrop(Some(token.clone()));
        let pass =
            async move { Ok(core.background_pass(network, &token, Duration::from_millis(budget_ms)).await?) };
        let outcome = guard_spawned(&self.root.runtime, pass).await;
        on_drop.0 = None;
        outcome
    }

    /// The upload screen's read model: each item's state and bytes, and the totals.
    pub fn status(&self) -> Result<SyncStatus, FieldsealError> {
        guard(|| Ok(self.core.status()?))
    }

    /// Every kept receipt checked again under the intake key kept at enrolment.
    pub fn check_receipts(&self) -> Result<Vec<ReceiptCheck>, FieldsealError> {
        guard(|| Ok(self.core.check_receipts()?))
    }

    /// Makes a stopped (wedged) upload due again, once its reason is resolved.
    pub fn retry(&self, item_id: i64) -> Result<(), FieldsealError> {
        guard(|| Ok(self.core.retry(item_id)?))
    }

    /// 放弃上传 — a stopped upload is never sent; the evidence stays on the device and the
    /// decision, with `reason` and `by`, is recorded in the trail.
    pub fn discard(&self, item_id: i64, reason: String, by: String) -> Result<(), FieldsealError> {
        guard(|| Ok(self.core.discard(item_id, &reason, &by)?))
    }
}

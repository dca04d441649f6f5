//! 同步引擎 — one installation's link to its provincial intake.
//!
//! One pass at a time per installation (a gate shared by every engine of it), so a tap on "sync
//! now" and the background scheduler never send the same row twice at once. A pass is bounded by a
//! time budget and can be cancelled; either drops the driver mid-request, which is safe: every step
//! of the driver is its own transaction, an interrupted row stays in flight with its upload URL, and
//! the next pass resumes it from the offset the server reports.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{SyncEngineError, status};
use crate::{
    Error, Result,
    evidence::CancelToken,
    installation::Installation,
    outbox::{Backoff, Driver, NetworkPolicy, NetworkState, WedgedReason},
    sync::{ClientOptions, IntakeClient, Trust, enrolment, pull},
};

/// 同步设置 — where the province's intake is and whom to trust: the app's build configuration for
/// its province. Without a CA, only plain HTTP to a loopback address is allowed (development, tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncSettings {
    /// e.g. `https://intake.sthj.example.gov.cn`.
    pub intake_url: String,
    /// The province's CA certificates (PEM); the server must chain to one of them.
    pub province_ca_pem: Option<String>,
}

/// What enrolment bound this device to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EnrolmentSummary {
    pub device_id: String,
    /// 执法人员 — the inspector intake bound the device to.
    pub inspector_id: String,
    pub intake_url: String,
    /// The key every receipt must verify under.
    pub server_key_id: String,
}

/// How a pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PassEnd {
    /// Nothing more could be sent now: everything acknowledged, waiting for a retry time, for a
    /// dependency, for an unmetered network, or for a person.
    Done,
    /// The caller cancelled; what was sent is kept and the rest resumes next time.
    Cancelled,
    /// The time budget ran out mid-way; run again soon.
    BudgetSpent,
    /// The platform says there is no network: nothing was attempted.
    Offline,
}

/// What a pass did and when the scheduler should run the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncOutcome {
    pub ended: PassEnd,
    /// Rows acknowledged during this pass (each with a verified receipt).
    pub acknowledged: u64,
    /// Rows that stopped for a person during this pass.
    pub wedged: u64,
    /// Rows still to send (pending or in flight).
    pub remaining: u64,
    /// Blob bytes put on the network (chunks sent again after a cut included); 0 when the pass was
    /// cut off before the driver could report.
    pub bytes_sent: u64,
    /// Tasks pulled from intake during this pass, now draft inspections in the task list.
    pub new_tasks: u64,
    /// The pull stopped for something only a person can act on (this device revoked, an item this
    /// terminal cannot accept); the uploads of the pass stand.
    pub pull_stopped: Option<WedgedReason>,
    /// Something remains that needs no person: schedule another pass.
    pub more_work: bool,
    /// When the next pass can do something: 0 for now, `None` when only a network change, a new
    /// capture or a person can move things on.
    pub run_again_in_ms: Option<u64>,
    /// Some remaining item waits for an unmetered network (large video on mobile data).
    pub needs_unmetered: bool,
}

/// The sync service of an installation, for one intake. Cheap to clone.
#[derive(Clone)]
pub struct SyncEngine {
    installation: Installation,
    client: Arc<IntakeClient>,
    backoff: Backoff,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine").field("intake", &self.client.base_url()).finish_non_exhaustive()
    }
}

impl Installation {
    /// The sync service for the intake in `settings`.
    pub fn sync(&self, settings: &SyncSettings) -> Result<SyncEngine> {
        self.sync_with(settings, ClientOptions::default(), Backoff::default())
    }

    /// As [`Installation::sync`], with the client's timeouts and chunk size and the retry backoff
    /// chosen by the caller (tools and tests).
    pub fn sync_with(
        &self,
        settings: &SyncSettings,
        options: ClientOptions,
        backoff: Backoff,
    ) -> Result<SyncEngine> {
        let trust = match &settings.province_ca_pem {
            Some(pem) => Trust::from_pem(pem.as_bytes())?,
            None => Trust::LoopbackPlain,
        };
        let client = IntakeClient::new(&settings.intake_url, &trust, options, self.shared_signer())?;
        Ok(SyncEngine { installation: self.clone(), client: Arc::new(client), backoff })
    }
}

impl SyncEngine {
    /// 设备注册 — enrols this device with a one-time code from the administrator, replacing any
    /// earlier enrolment. The certificate intake returns must name this device's key.
    pub async fn enrol(&self, code: &str, label: Option<String>) -> Result<EnrolmentSummary> {
        let enrolled = enrolment::enrol(
            self.installation.store(),
            &self.client,
            self.installation.signer(),
            code.trim(),
            label,
        )
        .await?;
        Ok(EnrolmentSummary {
            device_id: enrolled.device_id,
            inspector_id: enrolled.inspector_id,
            intake_url: enrolled.base_url,
            server_key_id: enrolled.server_key.key_id,
        })
    }

    /// The enrolment kept on the device, if any.
    pub fn enrolment(&self) -> Result<Option<EnrolmentSummary>> {
        Ok(self.installation.store().read(enrolment::load)?.map(|e| EnrolmentSummary {
            device_id: e.device_id,
            inspector_id: e.inspector_id,
            intake_url: e.base_url,
            server_key_id: e.server_key.key_id,
        }))
    }

    /// Sends what is due under `network` until nothing more can be sent now, `budget` is spent or
    /// `cancel` is set. Waits while another pass of the same installation runs.
    pub async fn sync_now(
        &self,
        network: NetworkPolicy,
        cancel: &CancelToken,
        budget: Duration,
    ) -> Result<SyncOutcome> {
        let gate = self.installation.sync_gate();
        let _pass = gate.lock().await;
        self.check_enrolled_here()?;
        let before = self.installation.store().read(|conn, _| status::counts(conn))?;
        let started = Instant::now();
        let mut bytes_sent = 0;
        let mut new_tasks = 0;
        let mut pull_stopped = None;
        let ended = if network.state == NetworkState::Offline {
            PassEnd::Offline
        } else {
            let driver = Driver {
                store: self.installation.store(),
                client: &self.client,
                signer: self.installation.signer(),
                backoff: self.backoff,
                network,
            };
            // Uploads first (what the inspector made must leave the phone), then what the province
            // sends down; both within the same budget and cancellation.
            let pass = async {
                let drained = driver.drain(started + budget).await?;
                let pulled = self.pull_down().await?;
                Ok::<_, Error>((drained.bytes_sent, pulled))
            };
            tokio::select! {
                biased;
                () = cancelled(cancel) => PassEnd::Cancelled,
                () = tokio::time::sleep(budget) => PassEnd::BudgetSpent,
                done = pass => {
                    (bytes_sent, (new_tasks, pull_stopped)) = done?;
                    PassEnd::Done
                }
            }
        };
        let after = self.installation.store().read(|conn, _| status::plan(conn, &network))?;
        let remaining = after.counts.pending + after.counts.in_flight;
        let run_again_in_ms = match ended {
            _ if remaining == 0 => None,
            PassEnd::Cancelled | PassEnd::BudgetSpent => Some(0),
            PassEnd::Offline => None,
            // The driver stopped because nothing was due before the budget ran out: the next
            // retry time is the next chance. Rows still due now wait for something no pass can
            // change (a dependency, a network change, a kind not sent yet).
            PassEnd::Done => after.next_retry.map(|at| millis_until(at, Utc::now())),
        };
        Ok(SyncOutcome {
            ended,
            acknowledged: after.counts.acknowledged.saturating_sub(before.acknowledged),
            wedged: after.counts.wedged.saturating_sub(before.wedged),
            remaining,
            bytes_sent,
            new_tasks,
            pull_stopped,
            more_work: remaining > 0
                && (run_again_in_ms.is_some()
                    || ended == PassEnd::Offline
                    || after.waiting_for_unmetered > 0),
            run_again_in_ms,
            needs_unmetered: after.waiting_for_unmetered > 0,
        })
    }

    /// The hook the platform's background scheduler calls (WorkManager's `doWork`, a
    /// BGTaskScheduler task): one pass bounded by `budget`, under the network the platform reports.
    /// The outcome says whether to schedule another (`more_work`), when (`run_again_in_ms`) and
    /// whether to require an unmetered network for it (`needs_unmetered`). `cancel` is the
    /// scheduler's stop (WorkManager's `onStopped`, a task's expiration handler): what was sent is
    /// kept and the outcome says to run again.
    pub async fn background_pass(
        &self,
        network: NetworkPolicy,
        cancel: &CancelToken,
        budget: Duration,
    ) -> Result<SyncOutcome> {
        self.sync_now(network, cancel, budget).await
    }

    /// Pulls tasks, templates, the register and revocations by cursor; returns the tasks that
    /// became draft inspections. A network failure leaves the cursor at the last page applied, for
    /// the next pass; a refusal only a person can act on (a revoked device, an item this terminal
    /// cannot accept) is returned as the reason beside the pass's uploads, which stand.
    async fn pull_down(&self) -> Result<(u64, Option<WedgedReason>)> {
        let at = self.installation.now();
        match pull::pull_all(self.installation.store(), &self.client, self.installation.signer(), at).await {
            Ok(report) => Ok((report.tasks, None)),
            Err(Error::Sync(e)) if e.is_transient() => Ok((0, None)),
            Err(e @ Error::Sync(_)) => Ok((0, Some(WedgedReason::of(&e)))),
            Err(e) => Err(e),
        }
    }

    /// The outbox as the upload screen draws it.
    pub fn status(&self) -> Result<status::SyncStatus> {
        let syncing = self.installation.sync_gate().try_lock().is_err();
        self.installation.store().read(|conn, keys| status::read(conn, keys, syncing))
    }

    pub(super) fn installation(&self) -> &Installation {
        &self.installation
    }

    fn check_enrolled_here(&self) -> Result<()> {
        let enrolled = self.installation.store().read(enrolment::load)?;
        match enrolled {
            Some(e) if e.base_url != self.client.base_url() => Err(SyncEngineError::EnrolledElsewhere {
                enrolled: e.base_url,
                configured: self.client.base_url().to_owned(),
            }
            .into()),
            _ => Ok(()),
        }
    }
}

fn millis_until(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((at - now).num_milliseconds()).unwrap_or(0)
}

/// Resolves once `token` is cancelled. Polled: the token is a flag shared with blocking code.
async fn cancelled(token: &CancelToken) {
    while !token.is_cancelled() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

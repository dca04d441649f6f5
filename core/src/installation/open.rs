//! Opening an installation: the store, startup recovery, the device key and field notes.

use std::{fmt, path::Path, sync::Arc};

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::{
    Clock, EvidenceIngest, Inspections, RecordSession,
    integrity::{Anchoring, CheckpointStanding, standing_at_open},
};
use crate::{
    CORE_VERSION, Result,
    crypto::{DeviceSigner, KeyVault, signer::key_id},
    evidence::sweep::SweepPolicy,
    outbox,
    startup::{self, RecoveryReport},
    store::{Store, notes},
};

/// An open fieldseal installation: the encrypted store, the device signer and the clock. Cheap to
/// clone (one shared handle) and safe to share across threads.
#[derive(Clone)]
pub struct Installation {
    shared: Arc<Shared>,
}

struct Shared {
    store: Store,
    signer: Arc<dyn DeviceSigner>,
    clock: Arc<dyn Clock>,
    recovery: RecoveryReport,
    /// One sync pass at a time per installation, whichever engine or scheduler starts it.
    sync_gate: Arc<tokio::sync::Mutex<()>>,
    pub(super) anchoring: Anchoring,
}

impl fmt::Debug for Installation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Installation").field("store", &self.shared.store).finish_non_exhaustive()
    }
}

/// What the settings / diagnostics screen shows about the installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StoreStatus {
    pub schema_version: i64,
    pub core_version: String,
    pub device_key_id: String,
    /// Waiting or in flight.
    pub outbox_pending: u64,
    /// Stuck until a person acts.
    pub outbox_wedged: u64,
    pub outbox_acknowledged: u64,
}

impl Installation {
    /// Opens (or creates) the installation in `dir`, an app-private directory, and runs startup
    /// recovery before anything can start an ingest. Fails with a typed error, never deleting or
    /// recreating anything it cannot open.
    ///
    /// Before recovery the trail's signed heads are compared with the checkpoint `key_vault` keeps
    /// outside the database (`crate::trail::anchor`; at open only the checkpoint's anchor and any
    /// newer ones, so opening does not slow down as the trail grows): only when they agree may
    /// recovery remove a blob it finds no trace of; otherwise every orphan stays in quarantine.
    pub fn open(
        dir: impl AsRef<Path>,
        key_vault: &dyn KeyVault,
        signer: Arc<dyn DeviceSigner>,
        clock: Arc<dyn Clock>,
    ) -> Result<Installation> {
        let store = Store::open_with_clock(dir, key_vault, clock.clone())?;
        let anchoring = Anchoring { checkpoint: key_vault.trail_checkpoint() };
        let standing = standing_at_open(&store, &anchoring, &signer.public_key()?)?;
        // Orphan blobs and last run's viewing copies go before any ingest can run: the sweep would
        // otherwise quarantine the blob of a capture about to commit.
        let policy = SweepPolicy {
            database_vouched_for: standing == CheckpointStanding::Agrees,
            now: std::time::SystemTime::now(),
        };
        let recovery = startup::recover_with(&store, policy)?;
        let removed = !recovery.orphans.removed.is_empty();
        let installation = Installation {
            shared: Arc::new(Shared { store, signer, clock, recovery, sync_gate: Arc::default(), anchoring }),
        };
        if removed {
            // The removal events are on the device stream: sign its head like any other change.
            installation.anchor_stream("device")?;
        }
        Ok(installation)
    }

    /// What recovery did when this installation was opened: the orphan sweep (quarantined,
    /// released, removed, and the quarantine's alarms) and the viewing copies cleared.
    pub fn recovery(&self) -> RecoveryReport {
        self.shared.recovery.clone()
    }

    pub fn status(&self) -> Result<StoreStatus> {
        let outbox = self.store().read(|conn, _| outbox::status(conn))?;
        // A discarded upload stays wedged in the outbox table but needs nobody any more.
        let discarded = self.store().read(|conn, _| super::sync::discarded_count(conn))?;
        Ok(StoreStatus {
            schema_version: self.store().schema_version()?,
            core_version: CORE_VERSION.to_owned(),
            device_key_id: self.device_key_id()?,
            outbox_pending: outbox.pending + outbox.in_flight,
            outbox_wedged: outbox.wedged.saturating_sub(discarded),
            outbox_acknowledged: outbox.acknowledged,
        })
    }

    /// The device key's id, as it appears in every signed envelope from this device.
    pub fn device_key_id(&self) -> Result<String> {
        Ok(key_id(&self.device_public_key()?)?)
    }

    /// This device's public key (65-byte SEC1), for enrolment with the provincial system.
    pub fn device_public_key(&self) -> Result<Vec<u8>> {
        Ok(self.shared.signer.public_key()?)
    }

    pub fn inspections(&self) -> Inspections {
        Inspections::new(self.clone())
    }

    pub fn evidence(&self) -> EvidenceIngest {
        EvidenceIngest::new(self.clone())
    }

    /// 现场检查笔录 — the record of inspection `inspection_id`.
    pub fn records(&self, inspection_id: &str) -> RecordSession {
        RecordSession::new(self.clone(), inspection_id)
    }

    /// 现场备注 — adds an encrypted field note, optionally tied to an inspection.
    pub fn add_note(&self, inspection_id: Option<&str>, title: &str, body: &str) -> Result<notes::Note> {
        self.store().write(|tx, keys| notes::add(tx, keys, inspection_id, title, body))
    }

    pub fn note(&self, id: &str) -> Result<notes::Note> {
        self.store().read(|conn, keys| notes::get(conn, keys, id))
    }

    /// Notes newest first; a note that does not open is left out (see [`Installation::note_list`]).
    pub fn notes(&self) -> Result<Vec<notes::Note>> {
        Ok(self.note_list()?.notes)
    }

    /// Notes newest first, with how many rows did not open and their ids: one corrupt row does not
    /// fail the list.
    pub fn note_list(&self) -> Result<notes::NoteList> {
        self.store().read(notes::list)
    }

    /// The device clock now.
    pub fn now(&self) -> DateTime<FixedOffset> {
        self.shared.clock.now()
    }

    /// The store beneath the services, for tools and tests that work below the service API.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    pub(crate) fn signer(&self) -> &dyn DeviceSigner {
        self.shared.signer.as_ref()
    }

    pub(crate) fn shared_signer(&self) -> Arc<dyn DeviceSigner> {
        self.shared.signer.clone()
    }

    pub(crate) fn sync_gate(&self) -> Arc<tokio::sync::Mutex<()>> {
        self.shared.sync_gate.clone()
    }

    pub(super) fn anchoring(&self) -> &Anchoring {
        &self.shared.anchoring
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        FixedClock,
        crypto::{signer::SoftwareSigner, software_vault::KeyFileVault},
    };

    fn open_at(dir: &Path, at: &str) -> Installation {
        let vault = KeyFileVault::open_or_create(dir.join("kek")).unwrap();
        let clock = Arc::new(FixedClock::new(DateTime::parse_from_rfc3339(at).unwrap()));
        Installation::open(dir.join("data"), &vault, Arc::new(SoftwareSigner::fixed_for_tests()), clock)
            .unwrap()
    }

    fn register() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/register.json")).unwrap()
    }

    #[test]
    fn certificates_are_judged_on_the_installation_clocks_day() {
        let tmp = tempfile::tempdir().unwrap();
        let now = open_at(tmp.path(), "2026-06-01T09:00:00+08:00");
        now.inspections().import_register(&register()).unwrap();
        let usable_now = now.inspections().register_inspectors().unwrap();
        assert!(usable_now.iter().filter(|i| i.certificate_problem_today.is_none()).count() >= 2);
        drop(now);

        let later = open_at(tmp.path(), "2099-01-01T09:00:00+08:00");
        let usable_later = later.inspections().register_inspectors().unwrap();
        assert!(
            usable_later.iter().all(|i| i.certificate_problem_today.is_some()),
            "in 2099 every certificate has lapsed: {usable_later:?}"
        );
    }

    #[test]
    fn open_runs_recovery_and_reports_the_device_key() {
        let tmp = tempfile::tempdir().unwrap();
        let first = open_at(tmp.path(), "2026-06-01T09:00:00+08:00");
        let views = first.store().dir().join(crate::evidence::view::VIEW_DIR);
        std::fs::create_dir_all(&views).unwrap();
        std::fs::write(views.join("left-over.jpg"), b"plaintext").unwrap();
        drop(first);

        let again = open_at(tmp.path(), "2026-06-01T09:05:00+08:00");
        assert_eq!(again.recovery().views_cleared, 1, "the viewing copy from the last run is gone");
        let status = again.status().unwrap();
        assert_eq!(status.device_key_id, again.device_key_id().unwrap());
        assert_eq!(status.schema_version, crate::store::LATEST_VERSION);
    }
}

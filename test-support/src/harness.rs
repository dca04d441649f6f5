//! A store, a device key and an inspection gate for ingest tests.

use std::{
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::{FixedOffset, TimeZone, Utc};
use fieldseal_core::{
    Result,
    crypto::{signer::SoftwareSigner, software_vault::KeyFileVault},
    evidence::{
        CancelToken, CaptureClock, CaptureGate, CaptureGuard, EvidenceKind, EvidenceManifest, GeoPoint,
        IngestContext, IngestOutcome, IngestPolicy, IngestRequest, LocationFix, Site, ingest,
    },
    model::state::InspectionState,
    store::{Keyring, Store},
};
use rusqlite::{Connection, Transaction};

pub const INSPECTION: &str = "insp-1";

/// The gate the tests control: the inspection's state and site.
pub struct TestGuard {
    pub gate: Mutex<CaptureGate>,
    /// Evidence ids reported through `on_sealed`, in order.
    pub sealed: Mutex<Vec<String>>,
    /// Makes `on_sealed` fail, to check the capture rolls back with it.
    pub fail_on_sealed: AtomicBool,
}

impl TestGuard {
    pub fn capturing() -> Self {
        Self {
            gate: Mutex::new(CaptureGate {
                state: InspectionState::Recording,
                site: Some(site()),
                checked_out_at: None,
            }),
            sealed: Mutex::new(Vec::new()),
            fail_on_sealed: AtomicBool::new(false),
        }
    }

    pub fn set_state(&self, state: InspectionState) {
        self.gate.lock().unwrap().state = state;
    }
}

impl CaptureGuard for TestGuard {
    fn capture_gate(&self, _: &Connection, _: &Keyring, _: &str) -> Result<CaptureGate> {
        Ok(self.gate.lock().unwrap().clone())
    }

    fn on_sealed(&self, _: &Transaction<'_>, _: &Keyring, sealed: &EvidenceManifest) -> Result<()> {
        if self.fail_on_sealed.load(Ordering::SeqCst) {
            return Err(
                fieldseal_core::evidence::EvidenceError::invalid("inspection", "counting failed").into()
            );
        }
        self.sealed.lock().unwrap().push(sealed.evidence_id.clone());
        Ok(())
    }
}

/// The registered site: 300 m around a point in Hangzhou.
pub fn site() -> Site {
    Site::Radius { center: GeoPoint::new(30.2741, 120.1551), radius_m: 300.0 }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub signer: SoftwareSigner,
    pub guard: TestGuard,
}

impl Env {
    /// A fresh installation in a new temporary directory (so not a `Default`: each call makes one).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        let signer =
            SoftwareSigner::load_or_create(&key_vault(dir.path()), &dir.path().join("device.key")).unwrap();
        Env { dir, store, signer, guard: TestGuard::capturing() }
    }

    pub fn public_key(&self) -> Vec<u8> {
        use fieldseal_core::crypto::DeviceSigner;
        self.signer.public_key().unwrap()
    }

    pub fn context(&self) -> IngestContext<'_> {
        IngestContext {
            store: &self.store,
            signer: &self.signer,
            guard: &self.guard,
            policy: IngestPolicy::default(),
        }
    }

    /// Writes `bytes` as a capture file in the app's private capture folder.
    pub fn capture_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let dir = self.dir.path().join("captures");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn ingest(&self, req: &IngestRequest) -> Result<IngestOutcome> {
        ingest(&self.context(), req, &CancelToken::new(), &mut |_| {})
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

pub fn key_vault(root: &Path) -> KeyFileVault {
    KeyFileVault::open_or_create(root.join("kek")).unwrap()
}

pub fn open_store(root: &Path) -> Store {
    Store::open(root.join("data"), &key_vault(root)).unwrap()
}

/// A good fix inside the site, taken at capture time.
pub fn fix() -> LocationFix {
    LocationFix {
        lat: 30.2742,
        lon: 120.1552,
        altitude_m: Some(12.0),
        accuracy_m: 6.0,
        provider: "fused".into(),
        fix_time: Utc.with_ymd_and_hms(2024, 5, 6, 6, 30, 14).unwrap(),
        mocked: false,
        satellites: Some(14),
    }
}

/// The capture clock matching the generated photos' EXIF time (14:30:15 at UTC+8).
pub fn clock() -> CaptureClock {
    CaptureClock {
        wall_clock: FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2024, 5, 6, 14, 30, 16)
            .unwrap(),
        monotonic_ms: 7_200_000,
        gnss_time: Some(Utc.with_ymd_and_hms(2024, 5, 6, 6, 30, 16).unwrap()),
        server_offset_ms: Some(120),
    }
}

pub fn request(source: &Path, kind: EvidenceKind) -> IngestRequest {
    IngestRequest {
        source_path: source.to_owned(),
        inspection_id: INSPECTION.into(),
        item_id: Some("item-water-1".into()),
        finding_id: None,
        kind,
        operator: "inspector-zhang".into(),
        location: Some(fix()),
        clock: clock(),
        parent: None,
        derivation: None,
        app_version: "0.1.0-test".into(),
    }
}

//! Issue 10: a state change and the signed head (trail anchor) that covers it commit in one
//! transaction. When the device key cannot sign (Keystore locked, key invalidated), the change is
//! not kept: no inspection moves to a state whose trail event no signed head covers, and nothing
//! half-written is left.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::DateTime;
use fieldseal_core::{
    FixedClock, InspectionState, Installation,
    crypto::{CryptoError, DeviceSigner, signer::SoftwareSigner, software_vault::KeyFileVault},
    model::{Task, TaskSource},
    store::{anchors, trail},
};

/// The device signer with a switch that makes it fail, as Keystore does when a key is unusable.
struct SwitchableSigner {
    inner: SoftwareSigner,
    refuse: AtomicBool,
}

impl DeviceSigner for SwitchableSigner {
    fn public_key(&self) -> Result<Vec<u8>, CryptoError> {
        self.inner.public_key()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(CryptoError::Signer("key unavailable".into()));
        }
        self.inner.sign(message)
    }
}

fn open(dir: &Path) -> (Installation, Arc<SwitchableSigner>) {
    let vault = KeyFileVault::open_or_create(dir.join("kek")).unwrap();
    let inner = SoftwareSigner::load_or_create(&vault, &dir.join("device.key")).unwrap();
    let signer = Arc::new(SwitchableSigner { inner, refuse: AtomicBool::new(false) });
    let clock = Arc::new(FixedClock::new(DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00").unwrap()));
    let installation = Installation::open(dir.join("data"), &vault, signer.clone(), clock).unwrap();
    (installation, signer)
}

fn task(installation: &Installation) -> Task {
    Task {
        id: "T-2026-HW-0002".into(),
        title: "危险废物贮存设施专项检查".into(),
        source: TaskSource::Campaign,
        enterprise_id: "ent-chem".into(),
        template_id: "tpl.hazardous-waste.storage".into(),
        planned_date: installation.now().date_naive(),
    }
}

/// An event of a stream by position and hash.
type Position = Option<(i64, String)>;

/// The stream's head and its newest anchor's position.
fn head_and_anchor(installation: &Installation, id: &str) -> (Position, Position) {
    let stream = format!("inspection:{id}");
    installation.store().read(|c, _| Ok((trail::head(c, &stream)?, anchors::latest_of(c, &stream)?))).unwrap()
}

#[test]
fn a_state_change_the_device_cannot_sign_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (installation, signer) = open(dir.path());
    let session = installation.inspections().create(task(&installation)).unwrap();
    let id = session.id().to_owned();
    let (head, anchor) = head_and_anchor(&installation, &id);
    assert_eq!(head, anchor, "creating the inspection signed its head");

    signer.refuse.store(true, Ordering::SeqCst);
    let err = session.approve("科长 王立").unwrap_err();
    assert_eq!(err.explain().code, "crypto.signer", "{err}");
    assert_eq!(session.state().unwrap(), InspectionState::Draft, "the unsigned change was not kept");
    assert_eq!(head_and_anchor(&installation, &id), (head.clone(), anchor), "nothing half-written");

    signer.refuse.store(false, Ordering::SeqCst);
    assert_eq!(session.approve("科长 王立").unwrap(), InspectionState::Approved);
    let (head, anchor) = head_and_anchor(&installation, &id);
    assert!(head.is_some());
    assert_eq!(head, anchor, "the change and its signed head committed together");
    assert!(installation.verify_trail().unwrap().all_good);
}

#[test]
fn an_inspection_the_device_cannot_sign_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let (installation, signer) = open(dir.path());
    signer.refuse.store(true, Ordering::SeqCst);
    assert!(installation.inspections().create(task(&installation)).is_err());
    assert!(installation.inspections().task_list().unwrap().is_empty());
    assert!(
        installation
            .store()
            .read(|c, _| trail::streams(c))
            .unwrap()
            .iter()
            .all(|s| !s.starts_with("inspection:"))
    );
}

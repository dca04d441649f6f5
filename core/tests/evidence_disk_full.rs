//! A full disk fails ingest cleanly: a storage error, nothing half-stored, the source kept.

use fieldseal_test_support as support;

use std::{fs, path::Path, process::Command};

use fieldseal_core::{
    crypto::signer::SoftwareSigner,
    evidence::{CancelToken, EvidenceKind, IngestContext, IngestPolicy, ingest, view},
    store::Store,
};
use support::{
    harness::{INSPECTION, TestGuard, key_vault, request},
    testmedia::{self, PhotoSpec},
};

/// Mounts a small tmpfs for the data directory; unmounted on drop. Needs root (as on the CI machine);
/// without it the test fails rather than passing untested.
struct SmallDisk<'a>(&'a Path);

impl<'a> SmallDisk<'a> {
    fn mount(dir: &'a Path, size: &str) -> Option<Self> {
        fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_storage_error_that_stores_nothing_and_keeps_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Not a skip: without the small disk this test cannot say anything, so it fails and says why.
    let Some(_disk) = SmallDisk::mount(&data, "6m") else {
        panic!("cannot mount a 6 MiB tmpfs at {} (needs root, as on the CI machine)", data.display());
    };
    let store = Store::open(&data, &key_vault(tmp.path())).unwrap();
    let signer =
        SoftwareSigner::load_or_create(&key_vault(tmp.path()), &tmp.path().join("device.key")).unwrap();
    let guard = TestGuard::capturing();
    let cx = IngestContext { store: &store, signer: &signer, guard: &guard, policy: IngestPolicy::default() };

    let source = tmp.path().join("VID_big.mp4");
    testmedia::write_video_like(&source, 16 << 20).unwrap();
    let original = fs::read(&source).unwrap();
    let err =
        ingest(&cx, &request(&source, EvidenceKind::Video), &CancelToken::new(), &mut |_| {}).unwrap_err();
    let explained = err.explain();
    assert_eq!(explained.code, "evidence.disk_full", "{err:?}");
    assert_eq!(explained.class, fieldseal_core::explain::ErrorClass::Storage);
    assert_eq!(fs::read(&source).unwrap(), original);
    assert!(store.vault().blob_ids().unwrap().is_empty());
    assert_eq!(
        fs::read_dir(data.join("vault").join("tmp")).unwrap().count(),
        0,
        "partial blob left on a full disk"
    );
    assert!(view::list_for_inspection(&store, INSPECTION).unwrap().is_empty());

    // The space came back with the partial blob: a photo still seals.
    let photo = tmp.path().join("IMG.jpg");
    fs::write(&photo, testmedia::photo(&PhotoSpec::default())).unwrap();
    ingest(&cx, &request(&photo, EvidenceKind::Photo), &CancelToken::new(), &mut |_| {}).unwrap();
}

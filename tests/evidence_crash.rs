//! Kill -9 during ingest: afterwards each capture is either complete and verifiable, or absent with
//! its input file intact. Never half-stored.
//!
//! The test re-runs its own binary as a child (`FIELDSEAL_CRASH_CHILD` set) that seals one file,
//! and SIGKILLs it after a pseudo-random delay spread over the child's whole run: before the store
//! opens, mid-stream, during the fsyncs and the transaction, and after. The parent then reopens the
//! store as the app would (vault `.part` sweep, then `startup::recover`) and checks every capture.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use fieldseal_core::{
    crypto::{DeviceSigner, column::hex, signer::SoftwareSigner},
    evidence::{CancelToken, EvidenceKind, IngestContext, IngestPolicy, ingest, verify_item, view},
};
// Shared with core's own integration tests: real JPEGs with real EXIF, a store and a test guard.
use fieldseal_test_support::{
    harness::{INSPECTION, TestGuard, key_vault, open_store, request},
    testmedia,
};

const CHILD_ENV: &str = "FIELDSEAL_CRASH_CHILD";
const KILLS: usize = 20;

/// The child: seal `source` into the store under `root`, then exit.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (root, source) = spec.split_once('|').expect("root|source");
    let (root, source) = (Path::new(root), Path::new(source));
    let store = open_store(root);
    let signer = SoftwareSigner::load_or_create(&key_vault(root), &root.join("device.key")).unwrap();
    let guard = TestGuard::capturing();
    let cx = IngestContext { store: &store, signer: &signer, guard: &guard, policy: IngestPolicy::default() };
    let kind = if source.extension().is_some_and(|e| e == "jpg") {
        EvidenceKind::Photo
    } else {
        EvidenceKind::Video
    };
    ingest(&cx, &request(source, kind), &CancelToken::new(), &mut |_| {}).unwrap();
    println!("CHILD-SEALED");
}

fn spawn_child(root: &Path, source: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{}|{}", root.display(), source.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

struct Capture {
    path: PathBuf,
    bytes: Vec<u8>,
    sha256: String,
}

fn make_capture(dir: &Path, i: usize) -> Capture {
    let path = if i % 3 == 0 {
        let p = dir.join(format!("IMG_{i:04}.jpg"));
        let spec = testmedia::PhotoSpec { width: 640 + 16 * i as u32, height: 480, ..Default::default() };
        std::fs::write(&p, testmedia::photo(&spec)).unwrap();
        p
    } else {
        let p = dir.join(format!("VID_{i:04}.mp4"));
        testmedia::write_video_like(&p, (12 << 20) + i as u64 * 4099).unwrap();
        p
    };
    let bytes = std::fs::read(&path).unwrap();
    Capture { sha256: sha256(&bytes), path, bytes }
}

#[test]
fn sigkill_during_ingest_leaves_each_capture_complete_or_absent_with_its_input_intact() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let captures_dir = root.join("captures");
    std::fs::create_dir_all(&captures_dir).unwrap();
    drop(open_store(root));
    let public_key = SoftwareSigner::load_or_create(&key_vault(root), &root.join("device.key"))
        .unwrap()
        .public_key()
        .unwrap();

    // Calibrate: how long one uninterrupted child run takes here.
    let calibration = make_capture(&captures_dir, 1);
    let started = Instant::now();
    assert!(spawn_child(root, &calibration.path).wait().unwrap().success());
    let full_run = started.elapsed();
    let mut captures = vec![calibration];

    let mut seed = 0x853C_49E6_748F_EA9Bu64;
    let mut killed_mid_run = 0;
    for i in 0..KILLS {
        let capture = make_capture(&captures_dir, i + 2);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Spread over 0..120 % of a full run so every phase gets hit, some kills land after exit.
        let delay = full_run.mul_f64((seed % 1200) as f64 / 1000.0);
        let mut child = spawn_child(root, &capture.path);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        captures.push(capture);
        check_all(root, &captures, &public_key);
    }
    let store = open_store(root);
    let sealed = view::list_for_inspection(&store, INSPECTION).unwrap().len();
    eprintln!(
        "{KILLS} kills, {killed_mid_run} mid-run; {sealed} of {} captures sealed, the rest kept",
        captures.len()
    );
    // Photos finish sooner than the calibrated video, so some kills land after exit; most must not.
    assert!(killed_mid_run >= KILLS / 4, "only {killed_mid_run} of {KILLS} kills landed mid-run");
}

/// Reopens the store like the app does after a crash, then checks every capture so far.
fn check_all(root: &Path, captures: &[Capture], public_key: &[u8]) {
    let store = open_store(root);
    fieldseal_core::startup::recover(&store).unwrap();
    let items = view::list_for_inspection(&store, INSPECTION).unwrap();
    let mut sealed = std::collections::HashMap::new();
    for item in &items {
        let verified = verify_item(&store, &item.evidence_id, public_key)
            .unwrap_or_else(|e| panic!("stored item {} does not verify: {e:?}", item.evidence_id));
        assert!(
            sealed.insert(verified.manifest.sha256.clone(), item.evidence_id.clone()).is_none(),
            "the same capture was sealed twice"
        );
    }
    for c in captures {
        if !sealed.contains_key(&c.sha256) {
            let now = std::fs::read(&c.path)
                .unwrap_or_else(|e| panic!("{} is neither sealed nor kept: {e}", c.path.display()));
            assert_eq!(now, c.bytes, "{} was changed", c.path.display());
        }
    }
    // Every blob left in the vault belongs to a verified item (original or thumbnail).
    let blobs = store.vault().blob_ids().unwrap();
    assert!(blobs.len() <= 2 * items.len(), "orphan blobs remain: {blobs:?}");
    let parts = std::fs::read_dir(root.join("data").join("vault").join("tmp")).unwrap().count();
    assert_eq!(parts, 0, "partial blobs remain");
}

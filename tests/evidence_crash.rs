//! Kill -9 during ingest: afterwards each capture is either complete and verifiable, or absent with
//! its input file intact. Never half-stored.
//!
//! The test re-runs its own binary as a child (`FIELDSEAL_CRASH_CHILD` set) that seals one file and
//! reports its phases on stdout: `PHASE start` before the store opens, `PHASE opened` before ingest,
//! `PHASE progress` for each progress report (the last one when the whole source is in the vault)
//! and `PHASE sealed` after the commit. The parent SIGKILLs it in one of two ways:
//! - *held*: the child stops at a chosen phase (store open, or the k-th progress report, mid-stream)
//!   and waits on its stdin, so the kill lands there however loaded the machine is;
//! - *timed*: after the `start` or the last `progress` phase, a pseudo-random delay spread over
//!   0..120 % of what that stretch took in an uncontended calibration run of the same media, to
//!   reach what has no phase of its own (opening, the fsyncs, the thumbnail, the transaction).
//!
//! The parent then reopens the store as the app would (vault `.part` sweep, then `startup::recover`)
//! and checks every capture, and that the vault holds exactly the blobs of the verified items.

use std::{
    collections::BTreeSet,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc::{self, Receiver, RecvTimeoutError},
    time::{Duration, Instant},
};

use fieldseal_core::{
    crypto::{DeviceSigner, column::hex, signer::SoftwareSigner},
    evidence::{CancelToken, EvidenceKind, IngestContext, IngestPolicy, ingest, verify_item, view},
    store::{Store, evidence as rows},
};
// Shared with core's own integration tests: real JPEGs with real EXIF, a store and a test guard.
use fieldseal_test_support::{
    harness::{INSPECTION, TestGuard, key_vault, open_store, request},
    testmedia,
};

const CHILD_ENV: &str = "FIELDSEAL_CRASH_CHILD";
/// Where the child stops and waits to be killed: `opened`, or `progress:K` (the K-th progress
/// report, or the last one if the source has fewer).
const HOLD_ENV: &str = "FIELDSEAL_CRASH_HOLD";
const KILLS: usize = 20;
/// How long the parent waits for a phase before calling the child stuck (a loaded CI machine
/// takes seconds; a minute means something is wrong).
const PHASE_TIMEOUT: Duration = Duration::from_secs(60);

/// The child: seal `source` into the store under `root`, reporting phases, then exit.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (root, source) = spec.split_once('|').expect("root|source");
    let (root, source) = (Path::new(root), Path::new(source));
    let hold = std::env::var(HOLD_ENV).ok();
    let hold_at = |phase: &str| {
        println!("PHASE {phase}");
        if hold.as_deref() == Some(phase) {
            println!("PHASE HOLD");
            std::io::stdout().flush().unwrap();
            // Blocks until the parent kills this process (it never writes or closes stdin first).
            let _ = std::io::stdin().read_line(&mut String::new());
            panic!("held at {phase} but not killed");
        }
        std::io::stdout().flush().unwrap();
    };
    hold_at("start");
    let store = open_store(root);
    let signer = SoftwareSigner::load_or_create(&key_vault(root), &root.join("device.key")).unwrap();
    let guard = TestGuard::capturing();
    let cx = IngestContext { store: &store, signer: &signer, guard: &guard, policy: IngestPolicy::default() };
    let kind = if source.extension().is_some_and(|e| e == "jpg") {
        EvidenceKind::Photo
    } else {
        EvidenceKind::Video
    };
    hold_at("opened");
    let hold_report: Option<u64> =
        hold.as_deref().and_then(|h| h.strip_prefix("progress:")).map(|k| k.parse().expect("progress:K"));
    let mut reports = 0u64;
    ingest(&cx, &request(source, kind), &CancelToken::new(), &mut |p| {
        reports += 1;
        let last = p.done == p.total;
        let phase = if last { "progress last" } else { "progress" };
        if hold_report.is_some_and(|k| reports == k || (last && reports < k)) {
            println!("PHASE {phase}\nPHASE HOLD");
            std::io::stdout().flush().unwrap();
            let _ = std::io::stdin().read_line(&mut String::new());
            panic!("held at progress report {reports} but not killed");
        }
        println!("PHASE {phase}");
        std::io::stdout().flush().unwrap();
    })
    .unwrap();
    println!("PHASE sealed");
}

/// A running child, its stdin (kept open so a held child stays held) and its phase lines as they
/// arrive, each with the moment the parent read it.
struct Running {
    child: Child,
    _stdin: ChildStdin,
    phases: Receiver<(String, Instant)>,
}

fn spawn_child(root: &Path, source: &Path, hold: Option<&str>) -> Running {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{}|{}", root.display(), source.display()))
        .env_remove(HOLD_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(hold) = hold {
        cmd.env(HOLD_ENV, hold);
    }
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, phases) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may print `test crash_child ... ` in front of the first phase.
            let Some(at) = line.find("PHASE ") else { continue };
            if tx.send((line[at + "PHASE ".len()..].to_owned(), Instant::now())).is_err() {
                break;
            }
        }
    });
    Running { child, _stdin: stdin, phases }
}

impl Running {
    /// Waits for the phase line `want`; `None` if the child's output ended first.
    fn wait_for(&self, want: &str) -> Option<Instant> {
        loop {
            match self.phases.recv_timeout(PHASE_TIMEOUT) {
                Ok((line, at)) if line == want => return Some(at),
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the child sent no `{want}` within {PHASE_TIMEOUT:?}")
                }
            }
        }
    }

    /// SIGKILLs the child; true if it was still running.
    fn kill(mut self) -> bool {
        let running = self.child.try_wait().unwrap().is_none();
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
        running
    }
}

/// What an uninterrupted run of one media took, per stretch the timed kills aim into.
struct Calibration {
    /// From `PHASE start` to the child's exit.
    start_to_exit: Duration,
    /// From the last progress report (the source fully in the vault) to the child's exit.
    streamed_to_exit: Duration,
    /// Progress reports the source gives.
    reports: u64,
}

fn calibrate(root: &Path, source: &Path) -> Calibration {
    let run = spawn_child(root, source, None);
    let start = run.wait_for("start").expect("the calibration child started");
    let mut reports = 0;
    let streamed = loop {
        let (line, at) = run.phases.recv_timeout(PHASE_TIMEOUT).expect("calibration child progress");
        match line.as_str() {
            "progress" => reports += 1,
            "progress last" => break at,
            _ => {}
        }
    };
    assert!(run.wait_for("sealed").is_some(), "the calibration child did not seal");
    let mut child = run.child;
    assert!(child.wait().unwrap().success(), "the calibration child failed");
    let exit = Instant::now();
    Calibration { start_to_exit: exit - start, streamed_to_exit: exit - streamed, reports: reports + 1 }
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

    // Calibrate, one uninterrupted child per media, before any kill loads the machine further.
    let video = make_capture(&captures_dir, 1);
    let photo = make_capture(&captures_dir, 3);
    let video_run = calibrate(root, &video.path);
    let photo_run = calibrate(root, &photo.path);
    let mut captures = vec![video, photo];
    check_all(root, &captures, &public_key);

    let mut seed = 0x853C_49E6_748F_EA9Bu64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut held, mut timed, mut timed_mid_run) = (0, 0, 0);
    for i in 0..KILLS {
        let capture = make_capture(&captures_dir, i + 4);
        let calibration =
            if capture.path.extension().is_some_and(|e| e == "jpg") { &photo_run } else { &video_run };
        if i % 2 == 0 {
            // Held: at the store open or at a progress report, mid-stream for a video.
            let hold = match next() % (calibration.reports + 1) {
                0 => "opened".to_owned(),
                k => format!("progress:{k}"),
            };
            let run = spawn_child(root, &capture.path, Some(&hold));
            assert!(run.wait_for("HOLD").is_some(), "the child never reached {hold}");
            assert!(run.kill(), "the child held at {hold} had exited before the kill");
            held += 1;
        } else {
            // Timed: into the open, or into the fsyncs, thumbnail and transaction after the stream.
            let (anchor, stretch) = if next() % 2 == 0 {
                ("start", calibration.start_to_exit)
            } else {
                ("progress last", calibration.streamed_to_exit)
            };
            let delay = stretch.mul_f64((next() % 1200) as f64 / 1000.0);
            let run = spawn_child(root, &capture.path, None);
            if let Some(at) = run.wait_for(anchor) {
                std::thread::sleep(delay.saturating_sub(at.elapsed()));
            }
            timed_mid_run += usize::from(run.kill());
            timed += 1;
        }
        captures.push(capture);
        check_all(root, &captures, &public_key);
    }
    let store = open_store(root);
    let sealed = view::list_for_inspection(&store, INSPECTION).unwrap().len();
    eprintln!(
        "{held} kills held at a phase; {timed} timed, {timed_mid_run} of them before the child's exit; \
         {sealed} of {} captures sealed, the rest kept (calibration: video {:?} start to exit, {:?} \
         after the stream, {} progress reports; photo {:?}, {:?})",
        captures.len(),
        video_run.start_to_exit,
        video_run.streamed_to_exit,
        video_run.reports,
        photo_run.start_to_exit,
        photo_run.streamed_to_exit,
    );
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
    // The vault holds exactly the blobs of the verified items (originals and thumbnails): no orphan,
    // none missing.
    let blobs: BTreeSet<String> = store.vault().blob_ids().unwrap().into_iter().collect();
    assert_eq!(blobs, item_blob_ids(&store, &items), "the vault's blobs are not the sealed items' blobs");
    let parts = std::fs::read_dir(root.join("data").join("vault").join("tmp")).unwrap().count();
    assert_eq!(parts, 0, "partial blobs remain");
}

/// The vault blobs the stored items name: each original, and each thumbnail.
fn item_blob_ids(store: &Store, items: &[view::EvidenceListItem]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for item in items {
        let row = store.read(|conn, keys| rows::get(conn, keys, &item.evidence_id)).unwrap();
        ids.insert(row.blob_id);
        ids.extend(row.thumbnail_blob_id);
    }
    ids
}

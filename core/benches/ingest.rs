//! Evidence ingest figures (DESIGN.md §9), printed in one run:
//! - 12 MP JPEG ingest median, with and without an EXIF thumbnail, beside ring's SHA-256 +
//!   AES-256-GCM over the same bytes (goal: with a thumbnail, ≤ 3× that) and beside the durability
//!   floor measured in the same run with the sizes that capture wrote: a blob of the sealed size
//!   written, fsynced, renamed into place and its directory fsynced, and one WAL commit of a row
//!   as large as the item's (goal ≤ 1.3× the floor); also that floor plus the `TRUNCATE` checkpoint
//!   `Store::write` runs after its commit, and how long the capture's own checkpoint, which runs
//!   after ingest returned (docs/decisions/0013), went on; and eight captures back to back, per
//!   capture beside the floor. Every run seals a new capture (its own checklist item);
//! - large video ingest throughput (goal ≥ 0.8 GB/s) and peak resident memory growth (goal ≤ 32 MiB);
//! - peak resident memory of probe and ingest, each in a fresh child process, above that process's
//!   idle RSS, for a 48 MP baseline JPEG, the same photo progressive (jpegtran, Debian
//!   libjpeg-turbo-progs) and the 1 KB progressive JPEG claiming 19999×19999 (goal < 64 MiB each;
//!   the tiny one well under 1 s). No EXIF thumbnail in either 48 MP photo, so the decode path runs.
//!
//! `cargo bench -p fieldseal-core --bench ingest`. Environment:
//! `FIELDSEAL_BENCH_VIDEO_MB` (default 1024) sizes the video; `FIELDSEAL_BENCH_PHOTO_RUNS` (default 15).

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use fieldseal_core::{
    Result,
    crypto::signer::SoftwareSigner,
    crypto::software_vault::KeyFileVault,
    evidence::{
        CancelToken, CaptureClock, CaptureGate, CaptureGuard, EvidenceKind, GeoPoint, IngestContext,
        IngestPolicy, IngestRequest, Site, ingest,
    },
    model::state::InspectionState,
    store::{Keyring, Store},
};
use fieldseal_test_support::testmedia;
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey},
    digest,
};

struct Recording;

impl CaptureGuard for Recording {
    fn capture_gate(&self, _: &rusqlite::Connection, _: &Keyring, _: &str) -> Result<CaptureGate> {
        Ok(CaptureGate {
            state: InspectionState::Recording,
            site: Some(Site::Radius { center: GeoPoint::new(30.2741, 120.1551), radius_m: 300.0 }),
            checked_out_at: None,
        })
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn request(source: &Path, kind: EvidenceKind) -> IngestRequest {
    let now = chrono::Utc::now();
    IngestRequest {
        source_path: source.to_owned(),
        inspection_id: "bench".into(),
        item_id: None,
        finding_id: None,
        kind,
        operator: "bench".into(),
        location: None,
        clock: CaptureClock {
            wall_clock: now.fixed_offset(),
            monotonic_ms: 1,
            gnss_time: None,
            server_offset_ms: None,
        },
        parent: None,
        derivation: None,
        app_version: "bench".into(),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// ring SHA-256 plus AES-256-GCM in 64 KiB segments over `bytes`: the floor any sealing pays.
fn hash_and_encrypt(bytes: &[u8], key: &LessSafeKey) -> Duration {
    let started = Instant::now();
    let hash = digest::digest(&digest::SHA256, bytes);
    let mut segment = Vec::with_capacity(64 * 1024 + 16);
    for (i, chunk) in bytes.chunks(64 * 1024).enumerate() {
        segment.clear();
        segment.extend_from_slice(chunk);
        let mut nonce = [0u8; 12];
        nonce[4..8].copy_from_slice(&(i as u32).to_be_bytes());
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut segment)
            .unwrap();
        std::hint::black_box(&segment);
    }
    std::hint::black_box(hash);
    started.elapsed()
}

/// Writes `bytes` to a new file in `dir` and fsyncs it: the cost of making them durable here.
fn durable_write(dir: &Path, bytes: &[u8]) -> Duration {
    use std::io::Write;
    let path = dir.join("bench-durable-write");
    let started = Instant::now();
    let mut f = fs::File::create(&path).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
    let elapsed = started.elapsed();
    drop(f);
    fs::remove_file(&path).unwrap();
    elapsed
}

/// Seals a `mb` MiB video-like file from `dir` into `cx`'s store; prints throughput and peak RSS growth.
fn video_run(label: &str, cx: &IngestContext<'_>, dir: &Path, mb: u64) {
    let source = dir.join("VID_long.mp4");
    testmedia::write_video_like(&source, mb << 20).unwrap();
    let _ = fs::write("/proc/self/clear_refs", "5");
    let rss_before = memory_kib("VmRSS:");
    let started = Instant::now();
    let out = ingest(cx, &request(&source, EvidenceKind::Video), &CancelToken::new(), &mut |_| {}).unwrap();
    let elapsed = started.elapsed();
    let peak = memory_kib("VmHWM:");
    println!(
        "video {mb} MiB ({label}): ingest {:.2} s, {:.2} GB/s (goal ≥ 0.8); peak RSS growth {:.1} MiB (goal ≤ 32)",
        elapsed.as_secs_f64(),
        out.manifest.size as f64 / elapsed.as_secs_f64() / 1e9,
        peak.saturating_sub(rss_before) as f64 / 1024.0,
    );
}

/// The durability floor for one sealed capture: what requirement 9 (complete or absent after a
/// crash) costs at the least on this disk, with the same sizes as the capture just sealed. A blob of
/// `blob_len` bytes is written under a temporary name, fsynced, renamed into place and its directory
/// fsynced (a blob is visible only whole), then one row of `row_len` bytes commits in `conn`, a WAL
/// database with `synchronous = FULL` as the store opens it. With `checkpoint`, the commit is
/// followed by the `wal_checkpoint(TRUNCATE)` `Store::write` runs after its commit since issue 10
/// (superseded ciphertexts must not linger in the WAL; a capture's runs after ingest returned);
/// give that its own database, since a truncated WAL also makes the next commit sync a fresh WAL
/// header.
fn durability_floor(
    dir: &Path,
    blob_len: u64,
    row_len: usize,
    conn: &rusqlite::Connection,
    checkpoint: bool,
) -> Duration {
    use std::io::Write;
    let bytes = vec![0x3Cu8; blob_len as usize];
    let row = vec![0xC3u8; row_len];
    let (tmp, blobs) = (dir.join("floor-tmp"), dir.join("floor-blobs"));
    fs::create_dir_all(&tmp).unwrap();
    fs::create_dir_all(&blobs).unwrap();
    let (part, placed) = (tmp.join("blob.part"), blobs.join("blob"));
    let started = Instant::now();
    let mut f = fs::File::create(&part).unwrap();
    f.write_all(&bytes).unwrap();
    f.sync_all().unwrap();
    drop(f);
    fs::rename(&part, &placed).unwrap();
    fs::File::open(&blobs).unwrap().sync_all().unwrap();
    conn.execute("INSERT INTO floor (v) VALUES (?1)", [&row]).unwrap();
    if checkpoint {
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
    let elapsed = started.elapsed();
    fs::remove_file(&placed).unwrap();
    elapsed
}

fn floor_database(dir: &Path, name: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join(name)).unwrap();
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.pragma_update(None, "secure_delete", true).unwrap();
    conn.execute("CREATE TABLE IF NOT EXISTS floor (v BLOB)", []).unwrap();
    conn
}

/// Captures taken one after another with no pause, as an inspector photographs a site: each
/// capture's checkpoint then runs while the next one hashes and encrypts, and any of it left
/// when the next one commits is waited for. Prints the time per capture beside the floor.
fn burst(cx: &IngestContext<'_>, source: &Path, bytes: &[u8], floor_ms: f64) {
    const CAPTURES: usize = 8;
    let mut sources = Vec::new();
    for n in 0..CAPTURES {
        let path = source.with_file_name(format!("IMG_burst_{n}.jpg"));
        fs::write(&path, bytes).unwrap();
        sources.push(path);
    }
    cx.store.settle();
    let started = Instant::now();
    for (n, path) in sources.iter().enumerate() {
        let mut req = request(path, EvidenceKind::Photo);
        req.item_id = Some(format!("burst-{n}"));
        ingest(cx, &req, &CancelToken::new(), &mut |_| {}).unwrap();
    }
    cx.store.settle();
    let per_capture = ms(started.elapsed()) / CAPTURES as f64;
    println!(
        "    {CAPTURES} captures back to back, the last checkpoint included: {per_capture:.1} ms per capture; / floor {:.2}×",
        per_capture / floor_ms,
    );
}

/// On-disk bytes of what ingest made durable for item `id`: its vault blob(s), and its row's
/// sealed manifest and thumbnail.
fn sealed_sizes(store: &Store, id: &str) -> (u64, usize) {
    let row = store.read(|c, k| fieldseal_core::store::evidence::get(c, k, id)).unwrap();
    let blob = |b: &str| fs::metadata(store.vault().blob_path(b).unwrap()).unwrap().len();
    let blob_len = blob(&row.blob_id) + row.thumbnail_blob_id.as_deref().map_or(0, blob);
    let row_len: i64 = store
        .read(|c, _| {
            Ok(c.query_row(
                "SELECT length(manifest_enc) + IFNULL(length(thumbnail_enc), 0) FROM evidence WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap())
        })
        .unwrap();
    (blob_len, row_len as usize)
}

/// Runs one memory case in this process (the child): `probe` or `ingest` of `path`. Prints
/// `idle_kib peak_kib elapsed_us` for the parent.
fn memory_child(op: &str, path: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let kek = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
    let store = Store::open(tmp.path().join("data"), &kek).unwrap();
    let signer = SoftwareSigner::load_or_create(&kek, &tmp.path().join("device.key")).unwrap();
    let guard = Recording;
    let cx = IngestContext { store: &store, signer: &signer, guard: &guard, policy: IngestPolicy::default() };
    let source = tmp.path().join("IMG_input.jpg");
    fs::copy(path, &source).unwrap();
    let _ = fs::write("/proc/self/clear_refs", "5");
    let idle = memory_kib("VmRSS:");
    let started = Instant::now();
    match op {
        "probe" => {
            std::hint::black_box(fieldseal_core::evidence::probe::probe(&source).unwrap());
        }
        _ => {
            std::hint::black_box(
                ingest(&cx, &request(&source, EvidenceKind::Photo), &CancelToken::new(), &mut |_| {})
                    .unwrap(),
            );
        }
    }
    let elapsed = started.elapsed();
    println!("{idle} {} {}", memory_kib("VmHWM:"), elapsed.as_micros());
}

/// Peak RSS above idle, in a fresh child process per case so no earlier heap hides the peak.
fn memory_cases(dir: &Path) {
    let baseline = dir.join("IMG_48MP_baseline.jpg");
    let spec = testmedia::PhotoSpec {
        width: 8000,
        height: 6000,
        thumbnail: false,
        quality: 85,
        ..Default::default()
    };
    fs::write(&baseline, testmedia::photo(&spec)).unwrap();
    let progressive = dir.join("IMG_48MP_progressive.jpg");
    let made = std::process::Command::new("jpegtran")
        .args(["-progressive", "-copy", "all", "-outfile"])
        .arg(&progressive)
        .arg(&baseline)
        .status();
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/media/bomb-progressive-19999.jpg");
    let mut cases = vec![("48 MP baseline", baseline.clone())];
    match made {
        Ok(s) if s.success() => cases.push(("48 MP progressive", progressive)),
        _ => println!(
            "48 MP progressive: NOT MEASURED — jpegtran missing (apt-get install libjpeg-turbo-progs)"
        ),
    }
    cases.push(("tiny progressive claiming 19999×19999", tiny));
    for (label, path) in &cases {
        for op in ["probe", "ingest"] {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .env("FIELDSEAL_BENCH_MEMORY_CASE", op)
                .env("FIELDSEAL_BENCH_MEMORY_PATH", path)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let nums: Vec<u64> = text.split_whitespace().filter_map(|v| v.parse().ok()).collect();
            let [idle, peak, micros] = nums[..] else {
                println!("{label} {op}: child failed: {}", String::from_utf8_lossy(&out.stderr));
                continue;
            };
            let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            println!(
                "{label} ({:.1} MB) {op}: peak RSS {:.1} MiB above idle (goal < 64); {:.1} ms{}",
                size as f64 / 1e6,
                peak.saturating_sub(idle) as f64 / 1024.0,
                micros as f64 / 1000.0,
                if label.starts_with("tiny") { " (goal well under 1000 ms)" } else { "" },
            );
        }
    }
}

fn memory_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    if let (Ok(op), Ok(path)) =
        (std::env::var("FIELDSEAL_BENCH_MEMORY_CASE"), std::env::var("FIELDSEAL_BENCH_MEMORY_PATH"))
    {
        memory_child(&op, Path::new(&path));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let kek = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
    let store = Store::open(tmp.path().join("data"), &kek).unwrap();
    let signer = SoftwareSigner::load_or_create(&kek, &tmp.path().join("device.key")).unwrap();
    let guard = Recording;
    let cx = IngestContext { store: &store, signer: &signer, guard: &guard, policy: IngestPolicy::default() };
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
    let runs = env_num("FIELDSEAL_BENCH_PHOTO_RUNS", 15).max(3) as usize;

    // fsync latency and CPU time both move with what else the machine runs: say how busy it was.
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "evidence ingest benchmark ({runs} photo runs; load average {} on {} cores)",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    memory_cases(tmp.path());
    // Video first, in a fresh heap, so peak-RSS growth is not hidden by memory freed earlier.
    let video_mb = env_num("FIELDSEAL_BENCH_VIDEO_MB", 1024);
    video_run("disk", &cx, tmp.path(), video_mb);
    // The same pipeline when storage keeps up: a store in RAM (tmpfs), where fsync is free.
    if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
        let store = Store::open(shm.path().join("data"), &kek).unwrap();
        let cx =
            IngestContext { store: &store, signer: &signer, guard: &guard, policy: IngestPolicy::default() };
        video_run("tmpfs", &cx, shm.path(), video_mb);
    }
    for thumbnail in [true, false] {
        let bytes = testmedia::photo_12mp(thumbnail);
        let source = tmp.path().join("IMG_12MP.jpg");
        let mut ingest_times = Vec::new();
        let mut floor_times = Vec::new();
        let mut disk_times = Vec::new();
        let mut durable_times = Vec::new();
        let mut checkpoint_times = Vec::new();
        let mut settle_times = Vec::new();
        let mut sizes = (0, 0);
        let floor_db = floor_database(&tmp.path().join("data"), "bench-floor.sqlite");
        let store_floor_db = floor_database(&tmp.path().join("data"), "bench-floor-checkpointed.sqlite");
        for run in 0..runs {
            fs::write(&source, &bytes).unwrap();
            // Each run is a new capture (its own checklist item), never "already sealed".
            let mut req = request(&source, EvidenceKind::Photo);
            req.item_id = Some(format!("item-{thumbnail}-{run}"));
            let started = Instant::now();
            let out = ingest(&cx, &req, &CancelToken::new(), &mut |_| {}).unwrap();
            ingest_times.push(started.elapsed());
            // The checkpoint the capture left running must not overlap what is measured next.
            let settling = Instant::now();
            store.settle();
            settle_times.push(settling.elapsed());
            assert!(out.has_thumbnail && !out.already_sealed);
            floor_times.push(hash_and_encrypt(&bytes, &key));
            disk_times.push(durable_write(&tmp.path().join("data"), &bytes));
            sizes = sealed_sizes(&store, &out.evidence_id);
            let data = tmp.path().join("data");
            durable_times.push(durability_floor(&data, sizes.0, sizes.1, &floor_db, false));
            checkpoint_times.push(durability_floor(&data, sizes.0, sizes.1, &store_floor_db, true));
        }
        let durable_ms = ms(median(durable_times));
        let store_floor_ms = ms(median(checkpoint_times));
        let (ingest_ms, floor_ms, disk_ms) =
            (ms(median(ingest_times)), ms(median(floor_times)), ms(median(disk_times)));
        println!(
            "12 MP JPEG ({:.2} MB, {} EXIF thumbnail): ingest median {ingest_ms:.1} ms; SHA-256 + AES-GCM {floor_ms:.1} ms (ratio {:.1}×{}); \
             write + fsync of the same bytes {disk_ms:.1} ms (ratio to hash + AEAD + durable write {:.1}×)",
            bytes.len() as f64 / 1e6,
            if thumbnail { "with" } else { "without" },
            ingest_ms / floor_ms,
            if thumbnail { ", goal ≤ 3×" } else { "" },
            ingest_ms / (floor_ms + disk_ms),
        );
        println!(
            "    durability floor (blob of {} bytes: write, fsync, rename, directory fsync; one WAL commit of a {}-byte row) {durable_ms:.1} ms; \
             ingest / floor {:.2}× (goal ≤ 1.3×)",
            sizes.0,
            sizes.1,
            ingest_ms / durable_ms,
        );
        println!(
            "    the same floor + a WAL checkpoint (TRUNCATE) after the commit {store_floor_ms:.1} ms; ingest / that {:.2}×; \
             the capture's own checkpoint, after ingest returned, still running for {:.1} ms (median)",
            ingest_ms / store_floor_ms,
            ms(median(settle_times)),
        );
        if thumbnail {
            burst(&cx, &source, &bytes, durable_ms);
        }
    }

    let disk_bytes = vec![0xA5u8; 256 << 20];
    let disk = durable_write(&tmp.path().join("data"), &disk_bytes);
    println!(
        "machine floor: write + fsync {:.2} GB/s to this disk",
        disk_bytes.len() as f64 / disk.as_secs_f64() / 1e9
    );
    let floor_bytes = vec![0x5Au8; 64 << 20];
    let floor = hash_and_encrypt(&floor_bytes, &key);
    println!(
        "machine floor: ring SHA-256 + AES-256-GCM {:.2} GB/s in memory",
        floor_bytes.len() as f64 / floor.as_secs_f64() / 1e9
    );
}

//! Sealing captures end to end: what is stored, what is flagged, what is refused, and that
//! verification catches any change to a stored blob or manifest.

use fieldseal_test_support as support;

use std::{fs, path::Path};

use fieldseal_core::{
    Error,
    evidence::{
        CancelToken, CaptureFlag, EvidenceError, EvidenceKind, IngestRequest, MediaType, ingest,
        sweep::SweepPolicy, sweep_orphan_blobs, verify_item, view,
    },
    model::state::InspectionState,
    outbox::{self, OutboxKind},
};
use support::{
    harness::{Env, INSPECTION, request},
    testmedia::{self, ExifAttack, Gps, PhotoSpec},
};

fn photo() -> Vec<u8> {
    testmedia::photo(&PhotoSpec::default())
}

/// Nothing of a refused capture may remain: no row, no blob, no partial file; the source is intact.
fn assert_nothing_stored(env: &Env, source: &Path, original: &[u8]) {
    let rows = view::list_for_inspection(&env.store, INSPECTION).unwrap();
    assert!(rows.is_empty(), "rows stored: {rows:?}");
    assert!(env.store.vault().blob_ids().unwrap().is_empty(), "blobs left behind");
    let parts: Vec<_> = fs::read_dir(env.data_dir().join("vault").join("tmp")).unwrap().collect();
    assert!(parts.is_empty(), "partial files left: {parts:?}");
    assert_eq!(fs::read(source).unwrap(), original, "source changed");
    let queued = env.store.read(|c, _| outbox::status(c)).unwrap();
    assert_eq!(queued.pending, 0, "upload queued for a refused capture");
}

fn evidence_error(e: Error) -> EvidenceError {
    match e {
        Error::Evidence(e) => e,
        other => panic!("expected an evidence error, got {other:?}"),
    }
}

#[test]
fn a_photo_is_sealed_verified_linked_and_its_source_removed() {
    let env = Env::new();
    let bytes = photo();
    let source = env.capture_file("IMG_0001.jpg", &bytes);
    let mut req = request(&source, EvidenceKind::Photo);
    req.location.as_mut().unwrap().accuracy_m = 12.0;
    let out = env.ingest(&req).unwrap();

    let m = &out.manifest;
    assert_eq!(
        m.sha256,
        fieldseal_core::crypto::column::hex(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref())
    );
    assert_eq!(m.size, bytes.len() as u64);
    assert_eq!(m.media_type, MediaType::Jpeg);
    assert_eq!(m.flags, vec![], "a clean capture has no flags");
    assert!(m.supports_presence);
    assert_eq!(m.exif.as_ref().unwrap().make.as_deref(), Some("HUAWEI"));
    assert_eq!(m.distance_to_site_m, Some(0.0));
    assert!(out.has_thumbnail && out.source_removed && !out.already_sealed);
    assert!(!source.exists(), "plaintext source must be removed after sealing");

    let verified = verify_item(&env.store, &out.evidence_id, &env.public_key()).unwrap();
    assert_eq!(&verified.manifest, m);

    // The trail and the outbox got their rows in the same transaction.
    let stream = format!("inspection:{INSPECTION}");
    let events = env.store.read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, &stream)).unwrap();
    let sealed: Vec<_> = events.iter().filter(|e| e.kind == "evidence.sealed").collect();
    assert_eq!(sealed.len(), 1);
    assert_eq!(sealed[0].payload["sha256"], m.sha256);
    let queued = env.store.read(|c, _| outbox::get(c, OutboxKind::Evidence, &out.evidence_id)).unwrap();
    assert!(queued.is_some());
}

#[test]
fn flags_record_every_weakness_without_changing_the_data() {
    let env = Env::new();
    // A photo taken an hour earlier, 2 km away, with a mocked, inaccurate, stale fix.
    let spec = PhotoSpec {
        date_time_original: Some("2024:05:06 13:30:15"),
        gps: Some(Gps { lat: 30.2921, lon: 120.1551, altitude_m: None, h_error_m: Some(5.0) }),
        ..Default::default()
    };
    let source = env.capture_file("far.jpg", &testmedia::photo(&spec));
    let mut req = request(&source, EvidenceKind::Photo);
    let fix = req.location.as_mut().unwrap();
    fix.lat = 30.2921;
    fix.mocked = true;
    fix.accuracy_m = 80.0;
    fix.fix_time -= chrono::Duration::minutes(30);
    let out = env.ingest(&req).unwrap();
    let codes: Vec<_> = out.manifest.flags.iter().map(CaptureFlag::code).collect();
    for expected in ["mocked_location", "poor_accuracy", "stale_fix", "outside_site", "exif_time_mismatch"] {
        assert!(codes.contains(&expected), "{expected} missing from {codes:?}");
    }
    assert!(!out.manifest.supports_presence);
    // Recorded, not corrected: the fix is stored exactly as the platform gave it.
    assert_eq!(out.manifest.location.as_ref().unwrap(), req.location.as_ref().unwrap());
    verify_item(&env.store, &out.evidence_id, &env.public_key()).unwrap();
}

#[test]
fn photo_without_exif_or_location_is_flagged_and_audio_is_not_expected_to_have_exif() {
    let env = Env::new();
    let source =
        env.capture_file("plain.jpg", &testmedia::photo(&PhotoSpec { no_exif: true, ..Default::default() }));
    let mut req = request(&source, EvidenceKind::Photo);
    req.location = None;
    let out = env.ingest(&req).unwrap();
    let codes: Vec<_> = out.manifest.flags.iter().map(CaptureFlag::code).collect();
    assert_eq!(codes, vec!["no_location", "exif_missing"]);
    assert!(out.has_thumbnail, "a decoded thumbnail replaces the missing EXIF one");

    let source = env.capture_file("memo.wav", &testmedia::wav(0.5));
    let out = env.ingest(&request(&source, EvidenceKind::Audio)).unwrap();
    assert_eq!(out.manifest.flags, vec![]);
    assert!(!out.has_thumbnail);
    assert_eq!(out.manifest.media_type, MediaType::Wav);
    verify_item(&env.store, &out.evidence_id, &env.public_key()).unwrap();
}

#[test]
fn exif_position_far_from_the_fix_is_flagged() {
    let env = Env::new();
    let spec = PhotoSpec {
        gps: Some(Gps { lat: 30.2841, lon: 120.1551, altitude_m: None, h_error_m: Some(5.0) }),
        ..Default::default()
    };
    let source = env.capture_file("moved.jpg", &testmedia::photo(&spec));
    let out = env.ingest(&request(&source, EvidenceKind::Photo)).unwrap();
    assert!(
        out.manifest.flags.iter().any(
            |f| matches!(f, CaptureFlag::ExifPositionMismatch { distance_m, .. } if *distance_m > 1000.0)
        ),
        "{:?}",
        out.manifest.flags
    );
}

#[test]
fn exif_quirks_are_sealed_with_an_irregular_flag_not_refused() {
    for attack in
        [ExifAttack::FieldCount, ExifAttack::IfdLoop, ExifAttack::SubIfdOffset, ExifAttack::EntryCount]
    {
        let env = Env::new();
        let bytes = testmedia::hostile_exif_photo(attack);
        let source = env.capture_file("odd.jpg", &bytes);
        let out = env.ingest(&request(&source, EvidenceKind::Photo)).unwrap();
        let irregular = out.manifest.flags.iter().find_map(|f| match f {
            CaptureFlag::ExifIrregular { details } => Some(details.clone()),
            _ => None,
        });
        assert!(irregular.is_some_and(|d| !d.is_empty()), "{attack:?}: {:?}", out.manifest.flags);
        let text = out.manifest.flags.iter().map(|f| f.message()).collect::<Vec<_>>();
        assert!(text.iter().all(|m| !m.en.contains("tamper") && !m.zh.contains("篡改")), "{text:?}");
    }
}

#[test]
fn bad_inputs_are_specific_errors_and_leave_nothing_behind() {
    let good = photo();
    let cases: Vec<(&str, Vec<u8>, EvidenceKind, &str)> = vec![
        ("empty.jpg", vec![], EvidenceKind::Photo, "evidence.empty_file"),
        (
            "cut.jpg",
            testmedia::truncated(&good, good.len() * 2 / 3),
            EvidenceKind::Photo,
            "evidence.truncated",
        ),
        (
            "cut.mp4",
            {
                let mut v = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42".to_vec();
                v.extend_from_slice(b"\x00\x01\x00\x00mdat");
                v.extend_from_slice(&[7u8; 4000]);
                v
            },
            EvidenceKind::Video,
            "evidence.truncated",
        ),
        (
            "notes.txt",
            b"inspection notes, not media".to_vec(),
            EvidenceKind::Document,
            "evidence.unsupported_media",
        ),
        ("tone.wav", testmedia::wav(0.2), EvidenceKind::Photo, "evidence.kind_mismatch"),
    ];
    for (name, bytes, kind, code) in cases {
        let env = Env::new();
        let source = env.capture_file(name, &bytes);
        let err = env.ingest(&request(&source, kind)).unwrap_err();
        assert_eq!(err.explain().code, code, "{name}: {err:?}");
        assert_nothing_stored(&env, &source, &bytes);
    }
}

#[test]
fn an_inspection_not_on_site_refuses_captures() {
    for state in [
        InspectionState::Draft,
        InspectionState::ReadyOffline,
        InspectionState::PendingSignature,
        InspectionState::ClosedOnSite,
    ] {
        let env = Env::new();
        env.guard.set_state(state);
        let bytes = photo();
        let source = env.capture_file("p.jpg", &bytes);
        let err = evidence_error(env.ingest(&request(&source, EvidenceKind::Photo)).unwrap_err());
        assert!(matches!(err, EvidenceError::NotCapturing { .. }), "{state:?}: {err:?}");
        assert_nothing_stored(&env, &source, &bytes);
    }
}

#[test]
fn cancelling_mid_stream_stores_nothing_and_keeps_the_source() {
    let env = Env::new();
    let source = env.dir.path().join("clip.mp4");
    testmedia::write_video_like(&source, 8 << 20).unwrap();
    let original = fs::read(&source).unwrap();
    let cancel = CancelToken::new();
    let mut reports = Vec::new();
    let err = ingest(&env.context(), &request(&source, EvidenceKind::Video), &cancel, &mut |p| {
        reports.push(p);
        if p.done >= 2 << 20 {
            cancel.cancel();
        }
    })
    .unwrap_err();
    assert_eq!(err.explain().code, "evidence.cancelled");
    assert!(reports.len() >= 2 && reports.windows(2).all(|w| w[0].done < w[1].done));
    assert!(reports.iter().all(|p| p.total == 8 << 20));
    assert_nothing_stored(&env, &source, &original);
}

#[test]
fn a_source_that_vanishes_or_shrinks_mid_read_is_refused() {
    for shrink in [false, true] {
        let env = Env::new();
        let source = env.dir.path().join("clip.mp4");
        testmedia::write_video_like(&source, 4 << 20).unwrap();
        let mut done_once = false;
        let err =
            ingest(&env.context(), &request(&source, EvidenceKind::Video), &CancelToken::new(), &mut |_| {
                if !done_once {
                    done_once = true;
                    if shrink {
                        fs::OpenOptions::new().write(true).open(&source).unwrap().set_len(1 << 20).unwrap();
                    } else {
                        fs::remove_file(&source).unwrap();
                    }
                }
            })
            .unwrap_err();
        assert_eq!(err.explain().code, "evidence.source_changed", "shrink={shrink}: {err:?}");
        assert!(env.store.vault().blob_ids().unwrap().is_empty());
        assert!(view::list_for_inspection(&env.store, INSPECTION).unwrap().is_empty());
    }
}

#[test]
fn derivatives_name_their_parent_and_wait_for_its_upload() {
    let env = Env::new();
    let original = env.ingest(&request(&env.capture_file("a.jpg", &photo()), EvidenceKind::Photo)).unwrap();
    let redacted = testmedia::photo(&PhotoSpec { width: 160, height: 120, ..Default::default() });
    let mut req = request(&env.capture_file("a_redacted.jpg", &redacted), EvidenceKind::Photo);
    req.parent = Some(original.evidence_id.clone());
    let err = env.ingest(&req).unwrap_err();
    assert_eq!(err.explain().code, "evidence.invalid_request");
    req.derivation = Some("redacted".into());
    let derived = env.ingest(&req).unwrap();
    let parent = derived.manifest.parent.as_ref().unwrap();
    assert_eq!(parent.evidence_id, original.evidence_id);
    assert_eq!(parent.sha256, original.manifest.sha256);
    let queued =
        env.store.read(|c, _| outbox::get(c, OutboxKind::Evidence, &derived.evidence_id)).unwrap().unwrap();
    assert_eq!(queued.depends_on, vec![original.evidence_id.clone()]);
    verify_item(&env.store, &derived.evidence_id, &env.public_key()).unwrap();
    // The original is untouched.
    verify_item(&env.store, &original.evidence_id, &env.public_key()).unwrap();
}

#[test]
fn sealing_the_same_capture_again_returns_the_stored_item() {
    let env = Env::new();
    let bytes = photo();
    let first = env.ingest(&request(&env.capture_file("a.jpg", &bytes), EvidenceKind::Photo)).unwrap();
    let blobs = env.store.vault().blob_ids().unwrap();
    let again = env.ingest(&request(&env.capture_file("a-retry.jpg", &bytes), EvidenceKind::Photo)).unwrap();
    assert!(again.already_sealed);
    assert_eq!(again.evidence_id, first.evidence_id);
    assert_eq!(env.store.vault().blob_ids().unwrap(), blobs, "the retry's blobs were removed");
    assert_eq!(view::list_for_inspection(&env.store, INSPECTION).unwrap().len(), 1);
}

#[test]
fn viewing_copies_match_the_original_and_are_released() {
    let env = Env::new();
    let bytes = photo();
    let out = env.ingest(&request(&env.capture_file("a.jpg", &bytes), EvidenceKind::Photo)).unwrap();
    let copy = view::open_for_viewing(&env.store, &out.evidence_id).unwrap();
    assert_eq!(fs::read(&copy.path).unwrap(), bytes);
    assert!(copy.path.starts_with(env.data_dir().join("view")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&env.data_dir().join("view")), 0o700, "plaintext copies sit in an owner-only folder");
        assert_eq!(mode(&copy.path), 0o600);
    }
    let thumb = view::thumbnail_for_viewing(&env.store, &out.evidence_id).unwrap().unwrap();
    let img = image::open(&thumb.path).unwrap();
    assert!(img.width() <= 320 && img.height() <= 320);

    let list = view::list_for_inspection(&env.store, INSPECTION).unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].supports_presence);
    assert_eq!(list[0].thumbnail_path.as_ref(), Some(&thumb.path), "list reuses the verified thumbnail");
    let detail = view::detail(&env.store, &out.evidence_id).unwrap();
    assert_eq!(detail.manifest, out.manifest);
    let gcj = detail.map_position_gcj02.unwrap();
    assert!(gcj.lat != out.manifest.location.as_ref().unwrap().lat, "Hangzhou is shifted for Chinese maps");
    // A thumbnail changed on disk is not shown: it is decrypted afresh.
    fs::write(&thumb.path, b"not the sealed thumbnail").unwrap();
    let again = view::thumbnail_for_viewing(&env.store, &out.evidence_id).unwrap().unwrap();
    assert!(image::open(&again.path).is_ok());

    // Only files inside view/ can be released through this door.
    assert!(view::release_view(&env.store, &env.data_dir().join("fieldseal.db")).is_err());
    view::release_view(&env.store, &copy.path).unwrap();
    assert!(!copy.path.exists());
    assert_eq!(view::clear_views(&env.store).unwrap(), 1);
    assert!(!thumb.path.exists());
}

#[test]
fn orphan_blobs_from_an_interrupted_ingest_are_quarantined_and_removed_only_when_provably_uncommitted() {
    let env = Env::new();
    let out = env.ingest(&request(&env.capture_file("a.jpg", &photo()), EvidenceKind::Photo)).unwrap();
    let mut orphan = env.store.vault().begin("ev_00000000000000000000000000000000").unwrap();
    std::io::Write::write_all(&mut orphan, b"ciphertext of a capture whose row never committed").unwrap();
    orphan.commit().unwrap();
    let mut other = env.store.vault().begin("record_page_1").unwrap();
    std::io::Write::write_all(&mut other, b"not evidence").unwrap();
    other.commit().unwrap();
    let orphan = "ev_00000000000000000000000000000000".to_string();
    let later = std::time::SystemTime::now() + fieldseal_core::evidence::sweep::CRASH_WINDOW * 2;
    // Without the anchor vouching for the database, nothing goes: it stays in quarantine.
    let kept =
        sweep_orphan_blobs(&env.store, SweepPolicy { database_vouched_for: false, now: later }).unwrap();
    assert_eq!((kept.newly_quarantined, kept.removed.len()), (1, 0));
    assert_eq!(env.store.vault().quarantined_ids().unwrap(), vec![orphan.clone()]);
    // Vouched for, but younger than the crash window: still kept.
    let young = sweep_orphan_blobs(
        &env.store,
        SweepPolicy { database_vouched_for: true, now: std::time::SystemTime::now() },
    )
    .unwrap();
    assert!(young.removed.is_empty());
    // Vouched for and old: provably never committed, removed, and the removal recorded.
    let swept =
        sweep_orphan_blobs(&env.store, SweepPolicy { database_vouched_for: true, now: later }).unwrap();
    assert_eq!(swept.removed, vec![orphan]);
    assert!(env.store.vault().quarantined_ids().unwrap().is_empty());
    let device = env.store.read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, "device")).unwrap();
    assert_eq!(device.last().unwrap().kind, "evidence.orphan_removed");
    assert!(env.store.vault().contains("record_page_1"), "the sweep touches evidence blobs only");
    verify_item(&env.store, &out.evidence_id, &env.public_key()).unwrap();
}

#[test]
fn nothing_readable_about_the_capture_reaches_the_database_file() {
    let env = Env::new();
    let mut req = request(&env.capture_file("a.jpg", &photo()), EvidenceKind::Photo);
    req.operator = "执法人员王建国".into();
    let out = env.ingest(&req).unwrap();
    let data = env.data_dir();
    let needles: [&[u8]; 4] = ["王建国".as_bytes(), out.manifest.sha256.as_bytes(), b"HUAWEI", b"30.274"];
    // Every file of the installation, while it is open (the WAL holds the newest pages) and after
    // it closed (checkpointed into the database file). A file that is not there is not skipped
    // silently: the database file must be among those scanned, every time.
    let scan = |when: &str| {
        let files = all_files(&data);
        assert!(
            files.iter().any(|f| f.ends_with("fieldseal.db")),
            "{when}: no database file among {files:?}"
        );
        for file in &files {
            let bytes = fs::read(file).unwrap();
            for needle in needles {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{when}: {} found in {}",
                    String::from_utf8_lossy(needle),
                    file.display()
                );
            }
        }
        files.len()
    };
    assert!(scan("open") >= 3, "the database, its WAL and the sealed blobs are all scanned");
    drop(env.store);
    scan("closed");
}

fn all_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(all_files(&path)) } else { out.push(path) }
    }
    out
}

#[test]
fn a_request_with_impossible_values_is_refused_up_front() {
    let env = Env::new();
    let bytes = photo();
    let source = env.capture_file("a.jpg", &bytes);
    let mut bad: Vec<IngestRequest> = Vec::new();
    let mut r = request(&source, EvidenceKind::Photo);
    r.location.as_mut().unwrap().lat = 91.0;
    bad.push(r);
    let mut r = request(&source, EvidenceKind::Photo);
    r.location.as_mut().unwrap().accuracy_m = f64::NAN;
    bad.push(r);
    let mut r = request(&source, EvidenceKind::Photo);
    r.operator = " ".into();
    bad.push(r);
    for r in bad {
        assert_eq!(env.ingest(&r).unwrap_err().explain().code, "evidence.invalid_request");
    }
    assert_nothing_stored(&env, &source, &bytes);
}

#[test]
fn a_missing_source_is_unreadable_not_a_panic() {
    let env = Env::new();
    let err = env.ingest(&request(&env.dir.path().join("gone.jpg"), EvidenceKind::Photo)).unwrap_err();
    assert_eq!(err.explain().code, "evidence.source_unreadable");
}

#[test]
fn the_inspection_is_told_in_the_same_transaction_and_its_failure_rolls_the_capture_back() {
    let env = Env::new();
    let out = env.ingest(&request(&env.capture_file("a.jpg", &photo()), EvidenceKind::Photo)).unwrap();
    assert_eq!(*env.guard.sealed.lock().unwrap(), vec![out.evidence_id.clone()]);

    env.guard.fail_on_sealed.store(true, std::sync::atomic::Ordering::SeqCst);
    let bytes = testmedia::wav(0.2);
    let source = env.capture_file("b.wav", &bytes);
    assert!(env.ingest(&request(&source, EvidenceKind::Audio)).is_err());
    assert_eq!(fs::read(&source).unwrap(), bytes, "source kept");
    assert_eq!(view::list_for_inspection(&env.store, INSPECTION).unwrap().len(), 1, "only the first capture");
    // Only the first capture's original: its thumbnail is sealed in its row, and the failed
    // capture's blob was removed.
    let first = env.store.read(|c, k| fieldseal_core::store::evidence::get(c, k, &out.evidence_id)).unwrap();
    assert_eq!(
        env.store.vault().blob_ids().unwrap(),
        vec![first.blob_id],
        "the failed capture's blob was removed"
    );
    let events = env
        .store
        .read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, &format!("inspection:{INSPECTION}")))
        .unwrap();
    assert_eq!(
        events.iter().filter(|e| e.kind == "evidence.sealed").count(),
        1,
        "its trail event rolled back"
    );
}

/// A FIFO where the camera's file should be: a plain open would wait forever for a writer. Ingest
/// must refuse it at once with its own code. A watchdog unblocks a hung open after 20 s (by
/// opening the write end), so a regression fails this test instead of hanging the suite.
#[cfg(unix)]
#[test]
fn a_fifo_or_device_as_source_is_refused_without_blocking() {
    use std::{
        os::unix::fs::OpenOptionsExt,
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
        time::{Duration, Instant},
    };

    let env = Env::new();
    let fifo = env.dir.path().join("captures").join("IMG_pipe.jpg");
    fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success(), "mkfifo failed");
    let finished = Arc::new(AtomicBool::new(false));
    let unblocked = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (fifo, finished, unblocked) = (fifo.clone(), finished.clone(), unblocked.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !finished.load(Ordering::SeqCst) {
                if Instant::now() > deadline {
                    // Non-blocking write end: succeeds only if a reader is stuck in open().
                    let opened =
                        fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&fifo);
                    if opened.is_ok() {
                        unblocked.store(true, Ordering::SeqCst);
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let err = env.ingest(&request(&fifo, EvidenceKind::Photo)).unwrap_err();
    finished.store(true, Ordering::SeqCst);
    watchdog.join().unwrap();
    assert!(!unblocked.load(Ordering::SeqCst), "ingest blocked opening a FIFO");
    let explained = err.explain();
    assert_eq!(explained.code, "evidence.source_not_a_file", "{err:?}");
    assert!(
        explained.message_zh.contains("不是普通文件") && explained.message_en.contains("not a regular file")
    );
    assert!(
        matches!(evidence_error(err), EvidenceError::SourceNotAFile { found, .. } if found.contains("FIFO"))
    );
    assert!(fifo.exists(), "the refused source is left where it was");
    assert!(env.store.vault().blob_ids().unwrap().is_empty());

    // A device never ends: refused before anything is read, not sealed as gigabytes of zeros.
    let err = env.ingest(&request(Path::new("/dev/zero"), EvidenceKind::Photo)).unwrap_err();
    assert_eq!(err.explain().code, "evidence.source_not_a_file", "{err:?}");
}

/// Issue 10 finding 5: a copied vault or database told the exact size of every capture. Two
/// originals of different sizes in one size class now leave blobs of one length and the same size
/// column; the exact size is only in the sealed, signed manifest.
#[test]
fn originals_in_one_size_class_leave_blobs_and_rows_of_equal_size() {
    use fieldseal_core::{
        crypto::{
            padding::{BLOB_FLOOR, size_class},
            stream::padded_encrypted_len,
        },
        store::evidence as rows,
    };

    let env = Env::new();
    // 160 044 and 160 844 bytes share the class ending at 163 840; 164 844 is in the next one.
    let (a, b, c) = (testmedia::wav(10.0), testmedia::wav(10.05), testmedia::wav(10.3));
    assert_ne!(a.len(), b.len());
    let mut stored = Vec::new();
    for (name, bytes) in [("a.wav", &a), ("b.wav", &b), ("c.wav", &c)] {
        let out = env.ingest(&request(&env.capture_file(name, bytes), EvidenceKind::Audio)).unwrap();
        assert_eq!(out.manifest.size, bytes.len() as u64, "the manifest keeps the exact size");
        verify_item(&env.store, &out.evidence_id, &env.public_key()).unwrap();
        let row = env.store.read(|c, k| rows::get(c, k, &out.evidence_id)).unwrap();
        let blob_len = fs::metadata(env.store.vault().blob_path(&row.blob_id).unwrap()).unwrap().len();
        assert_eq!(blob_len, padded_encrypted_len(bytes.len() as u64), "{name}");
        assert_eq!(row.size_class, size_class(bytes.len() as u64, BLOB_FLOOR), "{name}");
        assert_ne!(row.size_class, bytes.len() as u64, "{name}: the row must not hold the exact size");
        // The exact size for progress bars is there only sealed.
        let (plain, sealed): (i64, Vec<u8>) = env
            .store
            .read(|c, _| {
                Ok(c.query_row(
                    "SELECT size, size_enc FROM evidence WHERE id = ?1",
                    [&out.evidence_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap())
            })
            .unwrap();
        let exact =
            env.store.read(|_, k| rows::exact_size(k, &out.evidence_id, plain, Some(&sealed))).unwrap();
        assert_eq!(exact, bytes.len() as u64, "{name}");
        stored.push((blob_len, row.size_class));
    }
    assert_eq!(stored[0], stored[1], "two sizes in one class look the same on disk");
    assert!(stored[2].0 > stored[0].0 && stored[2].1 > stored[0].1, "the next class is larger");
}

//! EXIF, media type and thumbnail behaviour on real generated JPEGs (see `support/testmedia.rs`).

use fieldseal_test_support as support;

use std::path::{Path, PathBuf};

use fieldseal_core::evidence::{
    EvidenceError, MediaType,
    exif::read_exif,
    media::JpegStructure,
    thumbnail::{MAX_EDGE_PX, ThumbnailSource, make_thumbnail},
};
use image::GenericImageView;
use support::testmedia::{self, EXIF_ATTACKS, Gps, MAKES, PhotoSpec};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn structure(bytes: &[u8]) -> Result<(), EvidenceError> {
    let mut s = JpegStructure::new();
    for chunk in bytes.chunks(4096) {
        s.feed(chunk);
    }
    s.finish()
}

#[test]
fn every_make_reads_back_make_model_time_and_position() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (make, model, _)) in MAKES.iter().enumerate() {
        let bytes = testmedia::photo_by(i);
        let path = write(dir.path(), &format!("{make}.jpg"), &bytes);
        assert_eq!(MediaType::sniff(&bytes).unwrap(), MediaType::Jpeg);
        structure(&bytes).unwrap();
        let exif = read_exif(&path, MediaType::Jpeg).unwrap().expect("EXIF present");
        let s = &exif.summary;
        assert_eq!(s.make.as_deref(), Some(*make));
        assert_eq!(s.model.as_deref(), Some(*model));
        assert_eq!(s.orientation, Some(1));
        assert_eq!(s.captured_at().unwrap().to_rfc3339(), "2024-05-06T14:30:15+08:00");
        let gps = s.gps.as_ref().unwrap();
        let p = gps.position().unwrap();
        assert!((p.lat - 30.2741).abs() < 1e-6 && (p.lon - 120.1551).abs() < 1e-6, "{gps:?}");
        assert_eq!(gps.altitude_m, Some(12.5));
        assert_eq!(gps.h_positioning_error_m, Some(4.0));
        assert_eq!(gps.time_utc.unwrap().to_rfc3339(), "2024-05-06T06:30:14+00:00");
        assert!(s.has_thumbnail && exif.thumbnail.is_some());
        assert!(s.unreadable.is_empty());
    }
}

#[test]
fn all_four_hemispheres_keep_their_signs() {
    let dir = tempfile::tempdir().unwrap();
    let places = [
        (39.9042, 116.4074, 43.5),   // Beijing: N, E
        (-33.8688, 151.2093, 58.0),  // Sydney: S, E
        (40.7128, -74.0060, 10.0),   // New York: N, W
        (-22.9068, -43.1729, -3.25), // Rio, below sea level: S, W
    ];
    for (lat, lon, alt) in places {
        let spec = PhotoSpec {
            gps: Some(Gps { lat, lon, altitude_m: Some(alt), h_error_m: None }),
            ..Default::default()
        };
        let path = write(dir.path(), "p.jpg", &testmedia::photo(&spec));
        let gps = read_exif(&path, MediaType::Jpeg).unwrap().unwrap().summary.gps.unwrap();
        let p = gps.position().unwrap();
        assert!((p.lat - lat).abs() < 1e-6, "{lat} read as {}", p.lat);
        assert!((p.lon - lon).abs() < 1e-6, "{lon} read as {}", p.lon);
        assert_eq!(gps.altitude_m, Some(alt));
        assert_eq!(gps.h_positioning_error_m, None);
    }
}

#[test]
fn every_orientation_is_read_and_applied_to_the_thumbnail() {
    let dir = tempfile::tempdir().unwrap();
    for o in 1..=8u16 {
        for embedded in [true, false] {
            let spec = PhotoSpec { orientation: Some(o), thumbnail: embedded, ..Default::default() };
            let path = write(dir.path(), "o.jpg", &testmedia::photo(&spec));
            let exif = read_exif(&path, MediaType::Jpeg).unwrap().unwrap();
            assert_eq!(exif.summary.orientation, Some(o as u8));
            let (thumb, source) =
                make_thumbnail(exif.thumbnail.as_deref(), &path, MediaType::Jpeg, exif.summary.orientation)
                    .made()
                    .unwrap();
            assert_eq!(source, if embedded { ThumbnailSource::Exif } else { ThumbnailSource::Decoded });
            let img = image::load_from_memory(&thumb).unwrap();
            let (w, h) = img.dimensions();
            assert!(w.max(h) <= MAX_EDGE_PX);
            // The source is landscape; orientations 5..=8 swap the axes.
            assert_eq!(w < h, o >= 5, "orientation {o}, embedded {embedded}: {w}x{h}");
        }
    }
}

#[test]
fn photo_without_gps_has_no_position_and_photo_without_exif_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let path =
        write(dir.path(), "nogps.jpg", &testmedia::photo(&PhotoSpec { gps: None, ..Default::default() }));
    let s = read_exif(&path, MediaType::Jpeg).unwrap().unwrap().summary;
    assert_eq!(s.gps, None);
    assert!(s.unreadable.is_empty());
    let path = write(
        dir.path(),
        "noexif.jpg",
        &testmedia::photo(&PhotoSpec { no_exif: true, ..Default::default() }),
    );
    assert!(read_exif(&path, MediaType::Jpeg).unwrap().is_none());
}

#[test]
fn photo_without_embedded_thumbnail_gets_a_decoded_one() {
    let dir = tempfile::tempdir().unwrap();
    let bytes =
        testmedia::photo(&PhotoSpec { thumbnail: false, width: 800, height: 600, ..Default::default() });
    let path = write(dir.path(), "nothumb.jpg", &bytes);
    let exif = read_exif(&path, MediaType::Jpeg).unwrap().unwrap();
    assert!(!exif.summary.has_thumbnail && exif.thumbnail.is_none());
    let (thumb, source) = make_thumbnail(None, &path, MediaType::Jpeg, Some(1)).made().unwrap();
    assert_eq!(source, ThumbnailSource::Decoded);
    assert_eq!(image::load_from_memory(&thumb).unwrap().dimensions(), (320, 240));
}

#[test]
fn hostile_exif_keeps_what_parses_and_names_the_rest_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    for attack in EXIF_ATTACKS {
        let bytes = testmedia::hostile_exif_photo(attack);
        structure(&bytes).unwrap(); // the JPEG itself is fine
        let path = write(dir.path(), "evil.jpg", &bytes);
        let s = read_exif(&path, MediaType::Jpeg).unwrap().expect("an EXIF block is there").summary;
        assert!(!s.irregular.is_empty(), "{attack:?}: {s:?}");
        assert!(
            s.irregular
                .iter()
                .all(|c| c.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        );
        if attack != testmedia::ExifAttack::EntryCount {
            // Only IFD0's own entry count hides the fields; every other lie loses only itself.
            assert!(s.model.is_some() || s.make.is_some(), "{attack:?}: {s:?}");
        }
    }
}

#[test]
fn every_truncation_of_a_photo_is_refused_as_truncated() {
    let bytes = testmedia::photo(&PhotoSpec::default());
    let step = (bytes.len() / 97).max(1);
    for keep in (3..bytes.len()).step_by(step) {
        match structure(&testmedia::truncated(&bytes, keep)) {
            Err(EvidenceError::Truncated { .. }) => {}
            other => panic!("kept {keep} of {}: {other:?}", bytes.len()),
        }
    }
    structure(&bytes).unwrap();
}

#[test]
fn a_cut_inside_the_exif_segment_is_read_as_far_as_it_goes_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = testmedia::photo(&PhotoSpec::default());
    for keep in [3, 5] {
        let path = write(dir.path(), "cut.jpg", &testmedia::truncated(&bytes, keep));
        assert!(read_exif(&path, MediaType::Jpeg).unwrap().is_none(), "kept {keep}");
    }
    for keep in [40, 400] {
        let path = write(dir.path(), "cut.jpg", &testmedia::truncated(&bytes, keep));
        let s = read_exif(&path, MediaType::Jpeg).unwrap().unwrap().summary;
        assert!(s.irregular.contains(&"exif_segment_truncated".to_string()), "kept {keep}: {s:?}");
    }
}

#[test]
fn generated_audio_and_video_are_sniffed() {
    assert_eq!(MediaType::sniff(&testmedia::wav(0.5)).unwrap(), MediaType::Wav);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.mp4");
    testmedia::write_video_like(&path, 3 << 20).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 << 20);
    let head = std::fs::read(&path).unwrap();
    assert_eq!(MediaType::sniff(&head[..64]).unwrap(), MediaType::Mp4);
    assert!(read_exif(&path, MediaType::Mp4).unwrap().is_none());
}

#[test]
fn probe_reports_what_ingest_would_record_and_why_it_would_refuse() {
    use fieldseal_core::evidence::probe::probe;
    let dir = tempfile::tempdir().unwrap();
    let bytes = testmedia::photo_by(1);
    let path = write(dir.path(), "xiaomi.jpg", &bytes);
    let r = probe(&path).unwrap();
    assert_eq!(r.media_type, Some("image/jpeg"));
    assert_eq!(r.size, bytes.len() as u64);
    assert_eq!(
        r.sha256,
        fieldseal_core::crypto::column::hex(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref())
    );
    assert_eq!(r.exif.as_ref().unwrap().make.as_deref(), Some("Xiaomi"));
    assert!(r.gps_gcj02.is_some() && r.thumbnail == Some("exif") && r.refusal.is_none());
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "probe never changes the file");

    let odd = write(dir.path(), "odd.jpg", &testmedia::hostile_exif_photo(testmedia::ExifAttack::EntryCount));
    let r = probe(&odd).unwrap();
    assert_eq!(r.refusal, None, "an EXIF quirk never refuses a photo");
    assert!(r.flags.iter().any(|f| f.code() == "exif_irregular"), "{:?}", r.flags);
    let cut = write(dir.path(), "cut.jpg", &testmedia::truncated(&bytes, bytes.len() / 2));
    assert_eq!(probe(&cut).unwrap().refusal.unwrap().code, "evidence.truncated");
    let text = write(dir.path(), "a.txt", b"plain text");
    assert_eq!(probe(&text).unwrap().refusal.unwrap().code, "evidence.unsupported_media");
}

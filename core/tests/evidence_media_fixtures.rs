//! Real files made by real tools (`scripts/make-test-media.py`: Pillow + piexif, pillow-heif,
//! Debian ffmpeg), sealed through the real ingest: no genuine file is refused, every refusal is a
//! file that is really incomplete, each quirk is sealed with the flag that names it, and the GPS we
//! record agrees with exiftool's reading of the same file.

use fieldseal_test_support as support;

use std::path::{Path, PathBuf};

use fieldseal_core::evidence::{CaptureFlag, EvidenceKind, EvidenceManifest, MediaType, verify_item};
use support::harness::{Env, request};

fn media(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/media").join(name)
}

fn kind_of(name: &str) -> EvidenceKind {
    match name.rsplit('.').next() {
        Some("mp4" | "mov" | "3gp") => EvidenceKind::Video,
        Some("m4a") => EvidenceKind::Audio,
        _ => EvidenceKind::Photo,
    }
}

fn seal(name: &str) -> Result<EvidenceManifest, String> {
    let env = Env::new();
    let bytes = std::fs::read(media(name)).unwrap();
    let source = env.capture_file(name, &bytes);
    match env.ingest(&request(&source, kind_of(name))) {
        Ok(out) => {
            verify_item(&env.store, &out.evidence_id, &env.public_key()).unwrap();
            Ok(out.manifest)
        }
        Err(e) => Err(e.explain().code.to_string()),
    }
}

fn details<'a>(m: &'a EvidenceManifest, code: &str) -> Vec<&'a str> {
    m.flags
        .iter()
        .filter_map(|f| match f {
            CaptureFlag::ExifIrregular { details } if code == "exif_irregular" => Some(details),
            CaptureFlag::MediaIrregular { details } if code == "media_irregular" => Some(details),
            _ => None,
        })
        .flatten()
        .map(String::as_str)
        .collect()
}

/// Every file the tools wrote whole, with the media type the manifest must name.
const GENUINE: &[(&str, MediaType)] = &[
    ("genuine-baseline.jpg", MediaType::Jpeg),
    ("genuine-progressive-no-thumbnail.jpg", MediaType::Jpeg),
    ("genuine-no-exif.jpg", MediaType::Jpeg),
    ("genuine-with-exif.png", MediaType::Png),
    ("genuine.heic", MediaType::Heic),
    ("genuine.avif", MediaType::Avif),
    ("genuine-with-location.mp4", MediaType::Mp4),
    ("genuine-with-location.mov", MediaType::Mov),
    ("genuine.3gp", MediaType::ThreeGp),
    ("genuine.m4a", MediaType::M4a),
    ("quirk-ifd-visited-twice.jpg", MediaType::Jpeg),
    ("quirk-gps-pointer-nowhere.jpg", MediaType::Jpeg),
    ("quirk-ifd-count-truncated.jpg", MediaType::Jpeg),
    ("quirk-value-overlaps-ifd.jpg", MediaType::Jpeg),
    ("quirk-stray-bytes.jpg", MediaType::Jpeg),
    ("quirk-bad-crc.png", MediaType::Png),
    ("gps-signed-rationals.jpg", MediaType::Jpeg),
    ("gps-zero-over-zero-seconds.jpg", MediaType::Jpeg),
    ("gps-null-island.jpg", MediaType::Jpeg),
    ("gps-altitude-only.jpg", MediaType::Jpeg),
    ("gps-time-fraction.jpg", MediaType::Jpeg),
    ("bomb-progressive-19999.jpg", MediaType::Jpeg),
];

#[test]
fn no_genuine_file_is_refused_and_each_is_named_by_its_type() {
    for (name, media) in GENUINE {
        let m = seal(name).unwrap_or_else(|code| panic!("{name} refused: {code}"));
        assert_eq!(m.media_type, *media, "{name}");
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(&format!(r#""media_type":"{}""#, media.mime())), "{name}: {json}");
    }
}

#[test]
fn every_refusal_is_a_file_that_is_really_incomplete() {
    for name in [
        "cut-photo.jpg",
        "cut-photo.png",
        "cut-half.heic",
        "cut-short.heic",
        "cut-mdat-to-end.heic",
        "cut-moov-at-end.mp4",
        "cut-faststart.mp4",
    ] {
        assert_eq!(seal(name).unwrap_err(), "evidence.truncated", "{name}");
    }
}

#[test]
fn each_exif_quirk_is_sealed_with_the_code_that_names_it() {
    let cases = [
        // piexif writes no next-IFD pointer after a sub-IFD: its value bytes sit there.
        ("genuine-baseline.jpg", "unexpected_next_ifd"),
        ("quirk-ifd-visited-twice.jpg", "already_visited_ifd_detected"),
        ("quirk-gps-pointer-nowhere.jpg", "truncated_ifd_count"),
        ("quirk-ifd-count-truncated.jpg", "truncated_ifd_count"),
        ("gps-zero-over-zero-seconds.jpg", "gps_zero_over_zero"),
    ];
    for (name, code) in cases {
        let m = seal(name).unwrap();
        assert!(details(&m, "exif_irregular").contains(&code), "{name}: {:?}", m.flags);
        let exif = m.exif.as_ref().unwrap();
        assert_eq!(exif.make.as_deref(), Some("HUAWEI"), "{name}: fields that parse are kept");
    }
    // A value overlapping its IFD is read as exiftool reads it: whatever bytes are there.
    let m = seal("quirk-value-overlaps-ifd.jpg").unwrap();
    assert!(m.exif.unwrap().captured_at().is_some());
}

#[test]
fn structure_quirks_are_sealed_as_media_irregular() {
    let m = seal("quirk-stray-bytes.jpg").unwrap();
    assert_eq!(details(&m, "media_irregular"), vec!["jpeg_stray_bytes"]);
    let m = seal("quirk-bad-crc.png").unwrap();
    assert_eq!(details(&m, "media_irregular"), vec!["png_crc_mismatch"]);
    assert!(details(&seal("genuine-baseline.jpg").unwrap(), "media_irregular").is_empty());
}

#[test]
fn gps_in_every_encoding_keeps_what_is_readable() {
    let gps = |name: &str| seal(name).unwrap().exif.unwrap().gps;
    let signed = gps("gps-signed-rationals.jpg").unwrap();
    assert!((signed.lat.unwrap() - 30.2741).abs() < 1e-6 && (signed.lon.unwrap() - 120.1551).abs() < 1e-6);

    let no_seconds = gps("gps-zero-over-zero-seconds.jpg").unwrap();
    assert_eq!(no_seconds.lat, Some(30.0 + 16.0 / 60.0), "0/0 seconds are missing, not zero degrees off");

    let alt_only = gps("gps-altitude-only.jpg").unwrap();
    assert_eq!((alt_only.position(), alt_only.altitude_m), (None, Some(432.1)));

    let frac = gps("gps-time-fraction.jpg").unwrap();
    assert_eq!(frac.time_utc.unwrap().to_rfc3339(), "2024-05-06T06:30:14.250+00:00");

    let m = seal("gps-null-island.jpg").unwrap();
    assert!(m.flags.contains(&CaptureFlag::ExifGpsImplausible { reason: "null_island".into() }));
    assert!(
        !m.flags.iter().any(|f| matches!(f, CaptureFlag::ExifPositionMismatch { .. })),
        "0,0 is never compared with the platform fix: {:?}",
        m.flags
    );
}

#[test]
fn the_tiny_progressive_bomb_is_sealed_without_a_preview_and_flagged() {
    let m = seal("bomb-progressive-19999.jpg").unwrap();
    assert!(m.thumbnail_sha256.is_none());
    let over = m.flags.iter().find_map(|f| match f {
        CaptureFlag::PreviewOverBudget { needed_bytes, budget_bytes } => Some((*needed_bytes, *budget_bytes)),
        _ => None,
    });
    let (needed, budget) = over.expect("preview_over_budget");
    assert!(needed > 1 << 30 && needed > budget, "{needed} {budget}");
    // A real progressive photo inside the budget still gets its decoded preview.
    assert!(seal("genuine-progressive-no-thumbnail.jpg").unwrap().thumbnail_sha256.is_some());
}

#[test]
fn movies_record_creation_time_duration_and_location() {
    let mp4 = seal("genuine-with-location.mp4").unwrap().movie.unwrap();
    assert_eq!(mp4.created_utc.unwrap().to_rfc3339(), "2024-05-06T06:30:14+00:00");
    assert_eq!(mp4.duration_s, Some(1.0));
    let loc = mp4.location.unwrap();
    assert!((loc.lat - 30.2741).abs() < 1e-4 && (loc.lon - 120.1551).abs() < 1e-4, "{loc:?}");
    assert_eq!(loc.altitude_m, Some(12.5));
    let mov = seal("genuine-with-location.mov").unwrap().movie.unwrap();
    let loc = mov.location.unwrap();
    assert_eq!((loc.lat, loc.lon), (-33.8688, 151.2093));
    assert!(seal("genuine.3gp").unwrap().movie.unwrap().location.is_none());
    assert_eq!(seal("genuine.m4a").unwrap().movie.unwrap().duration_s, Some(1.0));
}

/// exiftool's reading of GPS, as numbers (`-n`).
fn exiftool_gps(path: &Path) -> serde_json::Value {
    let out = std::process::Command::new("exiftool")
        .args(["-n", "-json", "-GPSLatitude", "-GPSLongitude", "-GPSAltitude"])
        .arg(path)
        .output()
        .expect("exiftool (Debian package libimage-exiftool-perl) must be installed for this test");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
}

#[test]
fn where_exiftool_and_we_both_read_a_position_we_agree() {
    let mut compared = 0;
    for (name, _) in GENUINE {
        let m = seal(name).unwrap();
        let ours =
            m.exif.and_then(|e| e.gps).map(|g| (g.lat, g.lon, g.altitude_m)).or_else(|| {
                m.movie.and_then(|v| v.location).map(|l| (Some(l.lat), Some(l.lon), l.altitude_m))
            });
        let theirs = exiftool_gps(&media(name));
        let num = |k: &str| theirs.get(k).and_then(serde_json::Value::as_f64);
        let Some((lat, lon, alt)) = ours else { continue };
        for (field, mine, tool, tolerance) in [
            ("lat", lat, num("GPSLatitude"), 1e-5),
            ("lon", lon, num("GPSLongitude"), 1e-5),
            ("alt", alt, num("GPSAltitude"), 1e-3),
        ] {
            if let (Some(a), Some(b)) = (mine, tool) {
                assert!((a - b).abs() < tolerance, "{name} {field}: ours {a}, exiftool {b}");
                compared += 1;
            }
        }
    }
    assert!(compared >= 20, "only {compared} values compared");
}

#[test]
fn committed_fixtures_stay_small() {
    let total: u64 =
        std::fs::read_dir(media("")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(total < 512 * 1024, "{total} bytes of fixtures");
}

#[test]
fn a_heic_shows_the_platform_preview_sealed_as_its_derivative() {
    use fieldseal_core::evidence::{preview::PLATFORM_PREVIEW, view};
    let env = Env::new();
    let heic = env.capture_file("IMG_0001.heic", &std::fs::read(media("genuine.heic")).unwrap());
    let original = env.ingest(&request(&heic, EvidenceKind::Photo)).unwrap();
    assert!(!original.has_thumbnail, "the core decodes no HEVC");
    assert!(view::thumbnail_for_viewing(&env.store, &original.evidence_id).unwrap().is_none());

    // What the app does with the OS's JPEG of the sealed viewing copy.
    let os_jpeg =
        env.capture_file("IMG_0001_preview.jpg", &std::fs::read(media("genuine-no-exif.jpg")).unwrap());
    let mut req = request(&os_jpeg, EvidenceKind::Photo);
    req.parent = Some(original.evidence_id.clone());
    req.derivation = Some(PLATFORM_PREVIEW.into());
    let preview = env.ingest(&req).unwrap();
    let parent = preview.manifest.parent.as_ref().unwrap();
    assert_eq!(
        (parent.evidence_id.as_str(), parent.sha256.as_str()),
        (original.evidence_id.as_str(), original.manifest.sha256.as_str())
    );
    assert_eq!(parent.derivation, PLATFORM_PREVIEW);

    let shown = view::thumbnail_for_viewing(&env.store, &original.evidence_id).unwrap().unwrap();
    assert!(image::open(&shown.path).is_ok(), "the original's list thumbnail is the platform preview");
    let item = view::list_for_inspection(&env.store, &original.manifest.inspection_id)
        .unwrap()
        .into_iter()
        .find(|i| i.evidence_id == original.evidence_id)
        .unwrap();
    assert!(item.thumbnail_path.is_some());
}

#[test]
fn a_platform_preview_is_refused_for_a_jpeg_original_or_as_a_heic() {
    use fieldseal_core::evidence::preview::PLATFORM_PREVIEW;
    let env = Env::new();
    let jpeg = env.capture_file("IMG_0002.jpg", &std::fs::read(media("genuine-baseline.jpg")).unwrap());
    let original = env.ingest(&request(&jpeg, EvidenceKind::Photo)).unwrap();
    let again =
        env.capture_file("IMG_0002_preview.jpg", &std::fs::read(media("genuine-no-exif.jpg")).unwrap());
    let mut req = request(&again, EvidenceKind::Photo);
    req.parent = Some(original.evidence_id.clone());
    req.derivation = Some(PLATFORM_PREVIEW.into());
    assert_eq!(env.ingest(&req).unwrap_err().explain().code, "evidence.invalid_request");

    let heic = env.capture_file("IMG_0003.heic", &std::fs::read(media("genuine.heic")).unwrap());
    let heic_original = env.ingest(&request(&heic, EvidenceKind::Photo)).unwrap();
    let not_jpeg = env.capture_file("IMG_0003_preview.heic", &std::fs::read(media("genuine.avif")).unwrap());
    let mut req = request(&not_jpeg, EvidenceKind::Photo);
    req.parent = Some(heic_original.evidence_id);
    req.derivation = Some(PLATFORM_PREVIEW.into());
    assert_eq!(env.ingest(&req).unwrap_err().explain().code, "evidence.invalid_request");
    assert!(not_jpeg.exists(), "a refused capture keeps its file");
}

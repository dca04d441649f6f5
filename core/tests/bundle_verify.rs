//! The export bundle and its offline verifier: a real exported bundle verifies; every byte of
//! every member flipped in turn is detected and named; missing, extra, renamed and altered
//! members, another device key, unsigned pages, paths escaping the output folder and zip bombs
//! are each refused precisely, and nothing is written outside the output folder.

mod inspection_support;
mod record_support;
use fieldseal_test_support as support;

use std::{
    collections::BTreeMap,
    io::{Cursor, Write},
    time::Instant,
};

use fieldseal_core::{
    Error,
    bundle::{self, BundleError, format, zip::Limits, zip::ZipReader},
    crypto::{DeviceSigner, signer::SoftwareSigner},
    protocol::SignedEnvelope,
    record::statements::{self, Binding, SignatureStatement},
    verify::{CheckOutcome, VerificationReport, VerifyOptions, verify_bundle_file, verify_members},
};
use inspection_support::t;
use record_support::*;

fn failed(report: &VerificationReport) -> Vec<(&str, &str)> {
    report.failures().map(|c| (c.check.as_str(), c.subject.as_str())).collect()
}

fn verify_map(members: &BTreeMap<String, Vec<u8>>) -> VerificationReport {
    verify_map_with(members, &VerifyOptions::default())
}

fn verify_map_with(members: &BTreeMap<String, Vec<u8>>, options: &VerifyOptions<'_>) -> VerificationReport {
    let mut report = VerificationReport::default();
    verify_members(&mut members.clone(), options, &mut report);
    report
}

#[test]
fn an_exported_bundle_verifies_offline_with_every_check_passed() {
    let v = visit();
    let (r, path) = frozen_bundle(&v, None);
    let report = verify_bundle_file(
        &path,
        &VerifyOptions { trusted_key: Some(v.signer.public_key().unwrap()), ..VerifyOptions::default() },
    );
    assert!(report.ok(), "{}", report.render_text());
    let names: Vec<&str> = report.checks.iter().map(|c| c.check.as_str()).collect();
    for check in [
        "bundle.structure",
        "bundle.member_list_signature",
        "member.hash",
        "trail.chain",
        "record.hashes",
        "record.layout",
        "record.freeze",
        "record.trail_head",
        "record.signature",
        "record.signature_rules",
        "evidence.manifest",
        "evidence.original",
        "record.evidence",
        "trail.evidence_sealed",
    ] {
        assert!(names.contains(&check), "{check} was not checked");
    }
    assert_eq!(report.checks.iter().filter(|c| c.check == "record.signature").count(), 3);
    let m = members(&path);
    assert!(m.contains_key(&format::document_path(&r.record_id)));
    assert_eq!(m.keys().filter(|k| k.ends_with("original.jpg")).count(), 2);
}

/// A HEIC and an AVIF original are exported under their own names (they were `original.bin`), and
/// the verifier looks for them there: the bundle verifies with each original checked.
#[test]
fn heic_and_avif_originals_are_named_by_their_media_type_and_verify() {
    let media = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/media");
    let heic = std::fs::read(media.join("genuine.heic")).unwrap();
    let avif = std::fs::read(media.join("genuine.avif")).unwrap();
    let v = visit_with(&[heic.clone(), avif.clone()]);
    let (_, path) = frozen_bundle(&v, None);
    let report = verify_bundle_file(
        &path,
        &VerifyOptions { trusted_key: Some(v.signer.public_key().unwrap()), ..VerifyOptions::default() },
    );
    assert!(report.ok(), "{}", report.render_text());
    let m = members(&path);
    let originals: Vec<&String> = m.keys().filter(|k| k.contains("/original.")).collect();
    assert_eq!(originals.len(), 2, "{originals:?}");
    for (ext, bytes) in [("heic", &heic), ("avif", &avif)] {
        let name = originals.iter().find(|k| k.ends_with(&format!("original.{ext}")));
        let name = name.unwrap_or_else(|| panic!("no original.{ext} in {originals:?}"));
        assert_eq!(&m[name.as_str()], bytes, "{name} holds the bytes sealed at capture");
        assert!(
            report.checks.iter().any(|c| c.check == "evidence.original"
                && c.subject == name.as_str()
                && c.outcome == CheckOutcome::Passed),
            "{name} was not checked as the original"
        );
    }
}

/// Done-when of issue #11: every byte of every member flipped in turn, each flip detected and
/// named (the failure's subject is the member that was changed). Runs the verifier in its
/// fail-fast mode (it stops after the member stage when that failed), so ~80 000 flips take
/// seconds; the next test shows the full report on a sample of the same flips.
#[test]
fn flipping_any_byte_of_any_member_is_detected_and_named() {
    let v = small_visit();
    let (_, path) = frozen_bundle(&v, None);
    let original = members(&path);
    assert!(verify_map(&original).ok());
    let fast = VerifyOptions { fail_fast: true, ..VerifyOptions::default() };
    let started = Instant::now();
    let mut flips = 0usize;
    for (name, bytes) in &original {
        for i in 0..bytes.len() {
            let mut changed = original.clone();
            changed.get_mut(name).unwrap()[i] ^= 0x01;
            let report = verify_map_with(&changed, &fast);
            assert!(!report.ok(), "flipping byte {i} of {name} went unnoticed");
            assert!(
                report.failures().any(|c| c.subject == *name && c.outcome == CheckOutcome::Failed),
                "flipping byte {i} of {name} was not named: {:?}",
                failed(&report)
            );
            flips += 1;
        }
    }
    println!(
        "{flips} single-byte flips over {} members ({} bytes), all detected and named, in {:.1?}",
        original.len(),
        original.values().map(Vec::len).sum::<usize>(),
        started.elapsed()
    );
}

/// Without fail-fast, a flip gives failures at the changed member only: every other failure or
/// skip in the full report concerns a check resting on it.
#[test]
fn the_full_report_of_a_flip_names_only_the_changed_member() {
    let v = small_visit();
    let (_, path) = frozen_bundle(&v, None);
    let original = members(&path);
    for (name, bytes) in &original {
        if name == format::MANIFEST_PATH || name == format::DEVICE_KEY_PATH {
            continue; // everything rests on these two: the report stops there
        }
        for i in (0..bytes.len()).step_by(509) {
            let mut changed = original.clone();
            changed.get_mut(name).unwrap()[i] ^= 0x80;
            let report = verify_map(&changed);
            let failures: Vec<_> = report.failures().filter(|c| c.outcome == CheckOutcome::Failed).collect();
            assert!(!failures.is_empty());
            assert!(
                failures.iter().all(|c| c.subject == *name),
                "flip at {i} of {name}: failures elsewhere {:?}",
                failed(&report)
            );
            assert!(
                report.checks.iter().filter(|c| c.outcome == CheckOutcome::Passed).count() > 10,
                "the rest was still checked"
            );
        }
    }
}

#[test]
fn missing_extra_renamed_and_altered_members_are_each_named() {
    let v = visit();
    let (r, path) = frozen_bundle(&v, None);
    let original = members(&path);
    let doc = format::document_path(&r.record_id);
    let out = v.dir.path().join("tampered.zip");
    let verify_with = |members: &BTreeMap<String, Vec<u8>>| {
        let _ = std::fs::remove_file(&out);
        write_zip(&out, members);
        verify_bundle_file(&out, &VerifyOptions::default())
    };

    let mut missing = original.clone();
    missing.remove(&doc);
    let report = verify_with(&missing);
    assert!(failed(&report).contains(&("member.missing", doc.as_str())), "{:?}", failed(&report));

    let mut extra = original.clone();
    extra.insert("evidence/extra/original.jpg".into(), b"not sealed".to_vec());
    let report = verify_with(&extra);
    assert_eq!(failed(&report), vec![("member.extra", "evidence/extra/original.jpg")]);

    let photo = original.keys().find(|k| k.ends_with("original.jpg")).unwrap().clone();
    let mut renamed = original.clone();
    let bytes = renamed.remove(&photo).unwrap();
    let new_name = photo.replace("original.jpg", "original.jpeg");
    renamed.insert(new_name.clone(), bytes);
    let report = verify_with(&renamed);
    let f = failed(&report);
    assert!(
        f.contains(&("member.extra", new_name.as_str())) && f.contains(&("member.missing", photo.as_str())),
        "{f:?}"
    );

    // A photo replaced by other bytes of the same length: the member hash and the original check fail.
    let mut altered = original.clone();
    let jpeg = altered.get_mut(&photo).unwrap();
    let mid = jpeg.len() / 2;
    jpeg[mid] = jpeg[mid].wrapping_add(1);
    let report = verify_with(&altered);
    assert!(failed(&report).contains(&("member.hash", photo.as_str())), "{:?}", failed(&report));
    assert!(!report.ok());
}

/// A forger who re-signs everything with another key: only the trusted key says so.
#[test]
fn a_bundle_resigned_with_another_device_key_is_refused_against_the_trusted_key() {
    let v = visit();
    let (_, path) = frozen_bundle(&v, None);
    let mut m = members(&path);
    let stranger = SoftwareSigner::fixed_for_tests();
    let list =
        SignedEnvelope::from_json_str(std::str::from_utf8(&m[format::MANIFEST_PATH]).unwrap()).unwrap();
    let mut payload = list.payload.clone();
    let key = format::DeviceKey::new(&stranger.public_key().unwrap()).unwrap();
    let key_text = fieldseal_core::protocol::canonicalize(&serde_json::to_value(&key).unwrap()).unwrap();
    payload["device_key_id"] = key.key_id.clone().into();
    for entry in payload["members"].as_array_mut().unwrap() {
        if entry["path"] == format::DEVICE_KEY_PATH {
            entry["size"] = key_text.len().into();
            entry["sha256"] = statements::sha256_hex(key_text.as_bytes()).into();
        }
    }
    m.insert(format::DEVICE_KEY_PATH.into(), key_text.into_bytes());
    m.insert(
        format::MANIFEST_PATH.into(),
        SignedEnvelope::seal(&payload, &stranger).unwrap().to_json_string().unwrap().into_bytes(),
    );
    let mut report = VerificationReport::default();
    let trusted =
        VerifyOptions { trusted_key: Some(v.signer.public_key().unwrap()), ..VerifyOptions::default() };
    verify_members(&mut m.clone(), &trusted, &mut report);
    assert_eq!(failed(&report), vec![("bundle.device_key_trusted", format::DEVICE_KEY_PATH)]);
    // Without the trusted key the list verifies, but every statement inside is the real device's.
    let report = verify_map(&m);
    assert!(!report.ok());
    assert!(
        failed(&report).iter().any(|(c, _)| *c == "record.freeze" || *c == "evidence.manifest"),
        "{:?}",
        failed(&report)
    );
}

/// A signature must cover every page: one over the first page only is refused.
#[test]
fn a_signature_that_leaves_pages_unsigned_is_refused() {
    let v = visit();
    let r = build(&v);
    sign_all(&v, &r);
    let entries =
        v.store.read(|c, k| fieldseal_core::record::persist::entries_of_record(c, k, &r.record_id)).unwrap();
    let e = &entries[0];
    let mut statement: SignatureStatement = serde_json::from_value(e.envelope.payload.clone()).unwrap();
    assert!(r.page_hashes.len() >= 2);
    statement.page_hashes.truncate(1);
    let forged = SignedEnvelope::seal(&serde_json::to_value(&statement).unwrap(), &v.signer).unwrap();
    let binding =
        Binding { record_id: &r.record_id, document_hash: &r.document_hash, page_hashes: &r.page_hashes };
    let err = statements::verify_signature(
        &forged,
        &v.signer.public_key().unwrap(),
        binding,
        e.strokes_json.as_deref().unwrap(),
        e.image_png.as_deref().unwrap(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("page_hashes"), "{err}");
}

#[test]
fn a_draft_record_is_not_exported_and_an_existing_file_is_not_overwritten() {
    let v = visit();
    let r = build(&v);
    let out = v.dir.path().join("draft.zip");
    let err = bundle::export(&v.store, &v.signer, &r.record_id, &out, None, t("11:00")).unwrap_err();
    assert!(
        matches!(err, Error::Bundle(BundleError::NotAllowed { rule: "bundle.record_not_frozen", .. })),
        "{err:?}"
    );
    assert!(!out.exists());
    sign_all(&v, &r);
    fieldseal_core::record::service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap();
    std::fs::write(&out, b"keep me").unwrap();
    let err = bundle::export(&v.store, &v.signer, &r.record_id, &out, None, t("11:00")).unwrap_err();
    assert!(matches!(err, Error::Bundle(BundleError::Output { .. })), "{err:?}");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
}

// ---- hostile zips, written byte by byte ----

struct RawMember<'a> {
    name: &'a str,
    method: u16,
    declared_size: u32,
    data: Vec<u8>,
    crc: u32,
    external: u32,
}

fn raw_zip(members: &[RawMember<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for m in members {
        let offset = out.len() as u32;
        let header = |sig: u32| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            h
        };
        let mut lh = header(0x0403_4b50);
        lh.extend_from_slice(&20u16.to_le_bytes());
        lh.extend_from_slice(&0u16.to_le_bytes());
        lh.extend_from_slice(&m.method.to_le_bytes());
        lh.extend_from_slice(&[0, 0, 0x21, 0]);
        lh.extend_from_slice(&m.crc.to_le_bytes());
        lh.extend_from_slice(&(m.data.len() as u32).to_le_bytes());
        lh.extend_from_slice(&m.declared_size.to_le_bytes());
        lh.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
        lh.extend_from_slice(&0u16.to_le_bytes());
        lh.extend_from_slice(m.name.as_bytes());
        out.extend_from_slice(&lh);
        out.extend_from_slice(&m.data);
        let mut c = header(0x0201_4b50);
        c.extend_from_slice(&0x031Eu16.to_le_bytes());
        c.extend_from_slice(&lh[4..30]);
        c.extend_from_slice(&[0; 6]);
        c.extend_from_slice(&m.external.to_le_bytes());
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(m.name.as_bytes());
        cd.extend_from_slice(&c);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn stored<'a>(name: &'a str, data: &[u8]) -> RawMember<'a> {
    RawMember {
        name,
        method: 0,
        declared_size: data.len() as u32,
        data: data.to_vec(),
        crc: crc32fast::hash(data),
        external: 0o100644 << 16,
    }
}

fn deflated<'a>(name: &'a str, plain: &[u8], declared_size: u32) -> RawMember<'a> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(plain).unwrap();
    RawMember {
        name,
        method: 8,
        declared_size,
        data: enc.finish().unwrap(),
        crc: crc32fast::hash(plain),
        external: 0,
    }
}

fn refusal(bytes: Vec<u8>) -> BundleError {
    match ZipReader::open(Cursor::new(bytes.clone()), Limits::default()) {
        Err(e) => e,
        Ok(mut zip) => {
            let names: Vec<String> = zip.members().iter().map(|m| m.name.clone()).collect();
            for n in names {
                if let Err(e) = zip.copy_to(&n, &mut std::io::sink()) {
                    return e;
                }
            }
            panic!("the hostile zip was accepted")
        }
    }
}

#[test]
fn paths_escaping_the_output_folder_are_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    for name in [
        "../escaped.txt",
        "/tmp/fieldseal-escaped.txt",
        "a/../../escaped.txt",
        "..\\escaped.txt",
        "C:/escaped.txt",
    ] {
        let zip = raw_zip(&[stored("ok.txt", b"fine"), stored(name, b"owned")]);
        let file = root.path().join("hostile.zip");
        std::fs::write(&file, &zip).unwrap();
        let err = bundle::extract(&file, &out).unwrap_err();
        match err {
            Error::Bundle(BundleError::Member { name: n, reason }) => {
                assert_eq!(n, name);
                assert!(reason.starts_with("unsafe name"), "{reason}");
            }
            other => panic!("{name}: expected an unsafe-name refusal, got {other:?}"),
        }
        let report = verify_bundle_file(&file, &VerifyOptions::default());
        assert_eq!(failed(&report)[0].0, "bundle.structure");
        assert!(!root.path().join("escaped.txt").exists());
        assert!(!std::path::Path::new("/tmp/fieldseal-escaped.txt").exists());
        assert!(!out.join("ok.txt").exists(), "nothing is extracted from a refused bundle");
    }
    // Symbolic links are refused too.
    let mut link = stored("link", b"/etc/passwd");
    link.external = 0o120777 << 16;
    assert!(
        matches!(refusal(raw_zip(&[link])), BundleError::Member { reason, .. } if reason.contains("symbolic"))
    );
    // Two names that collide on a case-insensitive disk.
    let dup = raw_zip(&[stored("A.txt", b"1"), stored("a.txt", b"2")]);
    assert!(matches!(refusal(dup), BundleError::Member { reason, .. } if reason.contains("twice")));
}

#[test]
fn zip_bombs_are_refused_before_anything_large_is_produced() {
    // Declares 4 GB from a few KB: refused from the directory alone.
    let declared = deflated("bomb.bin", &vec![0u8; 1 << 20], u32::MAX - 1);
    let err = refusal(raw_zip(&[declared]));
    assert!(matches!(&err, BundleError::Member { reason, .. } if reason.contains("zip bomb")), "{err:?}");
    // Declares a modest size but inflates far past it: stopped at the declared size.
    let liar = deflated("liar.bin", &vec![0u8; 8 << 20], 60_000);
    let err = refusal(raw_zip(&[liar]));
    assert!(
        matches!(&err, BundleError::Member { reason, .. } if reason.contains("declared size")),
        "{err:?}"
    );
    // Many members declaring a huge total.
    let many: Vec<RawMember<'_>> = (0..40).map(|_| deflated("x", &[0u8; 1000], 3_000)).collect();
    let names: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
    let many: Vec<RawMember<'_>> = many
        .into_iter()
        .zip(&names)
        .map(|(mut m, n)| {
            m.name = n;
            m
        })
        .collect();
    let limits = Limits { max_total: 100_000, ..Limits::default() };
    let err = ZipReader::open(Cursor::new(raw_zip(&many)), limits).err().unwrap();
    assert!(matches!(&err, BundleError::Structure { reason } if reason.contains("zip bomb")), "{err:?}");
    // A member whose data overlaps another's (the non-recursive overlapping bomb).
    let a = stored("a", &[1u8; 100]);
    let mut zip = raw_zip(&[a, stored("b", &[1u8; 100])]);
    // Point b's central entry at a's data region.
    let cd = zip.windows(4).rposition(|w| w == 0x0201_4b50u32.to_le_bytes()).unwrap();
    zip[cd + 42..cd + 46].copy_from_slice(&10u32.to_le_bytes());
    let err = refusal(zip);
    assert!(matches!(err, BundleError::Member { .. }), "{err:?}");
}

#[test]
fn a_valid_bundle_extracts_only_inside_the_output_folder() {
    let v = visit();
    let (_, path) = frozen_bundle(&v, None);
    let out = v.dir.path().join("extracted");
    let names = bundle::extract(&path, &out).unwrap();
    assert!(names.len() > 10);
    for n in &names {
        assert!(out.join(n).is_file(), "{n}");
    }
    // A second extraction into the same (now non-empty) folder overwrites nothing.
    let err = bundle::extract(&path, &out).unwrap_err();
    assert!(matches!(err, Error::Bundle(BundleError::Output { .. })), "{err:?}");
}

/// Zip64 (a long video, or very many members) changes the container, never the checks: a real
/// bundle re-packed with every zip64 record and field verifies and extracts the same, and a name
/// escaping the folder is refused in that form too, with nothing written.
#[test]
fn a_bundle_in_zip64_form_verifies_and_its_path_checks_still_hold() {
    let v = visit();
    let (_, path) = frozen_bundle(&v, None);
    let original = members(&path);
    let repack = |names: &dyn Fn(&str) -> String| {
        let mut zip = bundle::zip::ZipWriter::new(Cursor::new(Vec::new())).always_zip64();
        for (name, bytes) in &original {
            zip.add_bytes(&names(name), bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    };
    let wide = v.dir.path().join("zip64.zip");
    std::fs::write(&wide, repack(&|n| n.to_owned())).unwrap();
    let report = verify_bundle_file(
        &wide,
        &VerifyOptions { trusted_key: Some(v.signer.public_key().unwrap()), ..VerifyOptions::default() },
    );
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!(members(&wide), original);
    let out = v.dir.path().join("zip64-extracted");
    assert_eq!(bundle::extract(&wide, &out).unwrap().len(), original.len());

    // The writer refuses an escaping name, so forge it into the zip64 archive's bytes.
    let mut evil =
        repack(&|n| if n == format::DEVICE_KEY_PATH { "aa/ice-key.json".into() } else { n.to_owned() });
    let forged: Vec<usize> =
        evil.windows(15).enumerate().filter(|(_, w)| *w == b"aa/ice-key.json").map(|(i, _)| i).collect();
    assert_eq!(forged.len(), 2, "local header and central entry");
    for at in forged {
        evil[at..at + 3].copy_from_slice(b"../");
    }
    let evil_path = v.dir.path().join("zip64-evil.zip");
    std::fs::write(&evil_path, evil).unwrap();
    let report = verify_bundle_file(&evil_path, &VerifyOptions::default());
    assert_eq!(failed(&report), vec![("bundle.structure", evil_path.to_str().unwrap())]);
    assert!(report.render_text().contains("escapes the folder"), "{}", report.render_text());
    let out = v.dir.path().join("zip64-evil-out");
    assert!(bundle::extract(&evil_path, &out).is_err());
    assert!(!v.dir.path().join("ice-key.json").exists());
    assert_eq!(std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0), 0);
}

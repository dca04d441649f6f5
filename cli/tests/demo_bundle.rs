//! The CLI end to end, as separate processes: `fieldseal demo --keep DIR` runs a whole inspection
//! and verifies its bundle; `fieldseal verify` checks it again (text and JSON); poppler's
//! `pdftotext` extracts the Chinese pages and `pdffonts` shows the font embedded; a PDF showing
//! other text than the signed pages is caught even when the member list is re-signed.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use fieldseal_core::{
    bundle::{
        format,
        pdf::PdfRenderer,
        zip::{Limits, ZipReader, ZipWriter},
    },
    crypto::{signer::SoftwareSigner, software_vault::KeyFileVault},
    protocol::SignedEnvelope,
    record::{RecordDocument, statements::sha256_hex},
};
use fieldseal_render::{KrillaRenderer, PinnedFont};

fn fieldseal(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fieldseal")).args(args).output().expect("run fieldseal")
}

fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} (poppler-utils) is required: {e}"));
    assert!(out.status.success(), "{name} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn members(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut zip = ZipReader::open(std::fs::File::open(path).unwrap(), Limits::default()).unwrap();
    let names: Vec<String> = zip.members().iter().map(|m| m.name.clone()).collect();
    names
        .into_iter()
        .map(|n| {
            let b = zip.read(&n, 1 << 30).unwrap();
            (n, b)
        })
        .collect()
}

fn write_zip(path: &Path, members: &BTreeMap<String, Vec<u8>>) {
    let mut zip = ZipWriter::new(std::fs::File::create(path).unwrap());
    for (n, b) in members {
        zip.add_bytes(n, b).unwrap();
    }
    zip.finish().unwrap();
}

/// One demo run shared by the checks below (it is the slow part).
fn demo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let out = fieldseal(&["demo", "--keep", keep.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("bundle verified offline"), "{stdout}");
    assert!(stdout.contains("summary: inspection"), "{stdout}");
    // The inspection went to the intake started on 127.0.0.1, whose data stays beside the store.
    assert!(stdout.contains("seeded through its admin API"), "{stdout}");
    assert!(stdout.contains("every receipt verified"), "{stdout}");
    assert!(
        stdout.contains("intake holds 5 evidence items (5 verified), 1 record(s) and 1 trail head(s)"),
        "{stdout}"
    );
    // Online the device imported nothing from files: the register, the template and the task
    // came by pull, and the trail head's receipt countersigned the freeze's signed head.
    assert!(!stdout.contains("loaded from the embedded examples"), "{stdout}");
    assert!(stdout.contains("pulled from intake: register"), "{stdout}");
    assert!(stdout.contains("(1 new) — inspection"), "{stdout}");
    assert!(stdout.contains("1 countersigned by the province"), "{stdout}");
    assert!(keep.join("intake").is_dir());
    (dir, keep)
}

#[test]
fn the_demo_against_a_running_intake_needs_its_admin_token_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_fieldseal"))
        .args(["demo", "--keep", keep.to_str().unwrap(), "--intake", "http://127.0.0.1:9"])
        .env_remove("FIELDSEAL_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FIELDSEAL_ADMIN_TOKEN"), "{stderr}");
}

#[test]
fn the_demo_bundle_verifies_its_pdf_is_chinese_text_with_the_font_embedded_and_a_false_pdf_is_caught() {
    let (_dir, keep) = demo();
    let bundle = keep.join("bundle.zip");

    let out = fieldseal(&["verify", bundle.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], true);
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["check"] == "pdf.text" && c["outcome"] == "passed"), "{report}");

    let text = fieldseal(&["verify", bundle.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("verified:"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );

    // poppler reads the PDF as a court's expert would.
    let all = members(&bundle);
    let (pdf_name, pdf) = all.iter().find(|(n, _)| n.ends_with("record.pdf")).unwrap();
    let pdf_file = keep.join("record.pdf");
    std::fs::write(&pdf_file, pdf).unwrap();
    let extracted = tool("pdftotext", &["-layout", pdf_file.to_str().unwrap(), "-"]);
    for needle in [
        "现场检查笔录",
        "第1页共2页",
        "第2页共2页",
        "泰州华宁热电有限公司",
        "王建国",
        "以上笔录属实",
        "限期整改",
    ] {
        assert!(extracted.contains(needle), "pdftotext did not find {needle}:\n{extracted}");
    }
    let fonts = tool("pdffonts", &[pdf_file.to_str().unwrap()]);
    let line = fonts.lines().find(|l| l.contains("NotoSansCJKsc")).unwrap_or_else(|| panic!("{fonts}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    // name, type (2 words), encoding, emb, sub, uni, object id
    assert_eq!(
        &cols[cols.len() - 5..cols.len() - 2],
        &["yes", "yes", "yes"],
        "embedded, subset, unicode: {fonts}"
    );
    let info = tool("pdfinfo", &[pdf_file.to_str().unwrap()]);
    assert!(info.contains("Pages:") && info.contains(" 2\n"), "{info}");

    // A PDF that shows other text, with the member list re-signed by the device key itself: the
    // hashes all match, and only the PDF-against-pages check can tell.
    let doc_name = pdf_name.replace("record.pdf", "document.json");
    let mut doc: RecordDocument = serde_json::from_slice(&all[&doc_name]).unwrap();
    let line = doc.pages[0].lines.iter_mut().find(|l| l.text.contains("泰州华宁热电")).unwrap();
    line.text = line.text.replace("泰州华宁热电", "泰州华宁热力");
    let renderer = KrillaRenderer::new(PinnedFont::locate().unwrap());
    let false_pdf = renderer.render(&doc, &[]).unwrap();
    let vault = KeyFileVault::open_or_create(keep.join("device.kek")).unwrap();
    let signer = SoftwareSigner::load_or_create(&vault, &keep.join("device-signer.key")).unwrap();
    let list =
        SignedEnvelope::from_json_str(std::str::from_utf8(&all[format::MANIFEST_PATH]).unwrap()).unwrap();
    let mut payload = list.payload.clone();
    for m in payload["members"].as_array_mut().unwrap() {
        if m["path"] == pdf_name.as_str() {
            m["size"] = false_pdf.len().into();
            m["sha256"] = sha256_hex(&false_pdf).into();
        }
    }
    let mut forged = all.clone();
    forged.insert(pdf_name.clone(), false_pdf);
    forged.insert(
        format::MANIFEST_PATH.into(),
        SignedEnvelope::seal(&payload, &signer).unwrap().to_json_string().unwrap().into_bytes(),
    );
    let forged_path = keep.join("forged.zip");
    write_zip(&forged_path, &forged);
    let out = fieldseal(&["verify", forged_path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failures: Vec<&serde_json::Value> =
        report["checks"].as_array().unwrap().iter().filter(|c| c["outcome"] != "passed").collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["check"], "pdf.text");
    assert!(failures[0]["detail"].as_str().unwrap().contains("page(s) 1"), "{failures:?}");

    // Extraction happens only for a verified bundle, and only inside the folder.
    let out_dir = keep.join("extracted");
    let out = fieldseal(&["verify", forged_path.to_str().unwrap(), "--extract", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out_dir.join("bundle.json").exists());
    let out = fieldseal(&["verify", bundle.to_str().unwrap(), "--extract", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(out_dir.join("bundle.json").is_file());
}

#[test]
fn verify_refuses_what_is_not_a_bundle_with_exit_code_one() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"PK\x03\x04 this is not a bundle").unwrap();
    let out = fieldseal(&["verify", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bundle.structure") && text.contains("NOT verified"), "{text}");
    let missing = fieldseal(&["verify", dir.path().join("absent.zip").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
}

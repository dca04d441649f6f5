//! `fieldseal verify BUNDLE [--json] [--key device-key.json] [--extract DIR]`: checks an exported
//! bundle offline and prints what was checked and exactly what failed where. Exit code 0 only when
//! everything verifies, 1 when anything failed or could not be checked, 2 on a usage error.

use std::path::Path;

use fieldseal_core::{
    bundle::{extract, format::DeviceKey},
    verify::{VerifyOptions, verify_bundle_file},
};
use fieldseal_render::PdfTextReader;

pub fn run(bundle: &Path, json: bool, key: Option<&Path>, extract_to: Option<&Path>) -> i32 {
    let trusted_key = match key.map(read_key).transpose() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("verify: {e}");
            return 2;
        }
    };
    let report = verify_bundle_file(
        bundle,
        &VerifyOptions { pdf_text: Some(&PdfTextReader), trusted_key, fail_fast: false },
    );
    let mut extracted = None;
    if let Some(dir) = extract_to {
        extracted = Some(if report.ok() {
            extract(bundle, dir).map(|names| names.len()).map_err(|e| e.explain().message_en)
        } else {
            Err("not extracted: the bundle did not verify".to_owned())
        });
    }
    if json {
        let value = serde_json::json!({
            "bundle": bundle.display().to_string(),
            "verified": report.ok(),
            "checks": report.checks,
            "extracted": extracted.as_ref().map(|r| match r {
                Ok(n) => serde_json::json!({ "members": n }),
                Err(e) => serde_json::json!({ "error": e }),
            }),
        });
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    } else {
        println!("fieldseal verify {}", bundle.display());
        print!("{}", report.render_text());
        match &extracted {
            Some(Ok(n)) => println!(
                "extracted {n} members into {}",
                extract_to.map(|d| d.display().to_string()).unwrap_or_default()
            ),
            Some(Err(e)) => println!("{e}"),
            None => {}
        }
    }
    if report.ok() && !matches!(extracted, Some(Err(_))) { 0 } else { 1 }
}

fn read_key(path: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let key: DeviceKey =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a device key: {e}", path.display()))?;
    key.public_key().map_err(|e| e.to_string())
}

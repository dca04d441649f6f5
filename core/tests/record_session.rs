//! The record through the installation's service API (what the FFI's RecordSession delegates to):
//! build, sign with strokes as two inspectors and the party, freeze, export and verify.

mod inspection_support;
mod record_support;
use fieldseal_test_support as support;

use std::sync::Arc;

use fieldseal_core::{
    FixedClock, InspectionState, Installation,
    record::{PartyStatement, SignerRole, Strokes},
    verify::{VerifyOptions, verify_bundle_file},
};
use inspection_support::t;
use record_support::*;
use support::harness;

#[test]
fn the_record_session_builds_signs_freezes_and_exports_a_bundle_that_verifies() {
    let Visit { dir, store, signer, inspection_id } = visit();
    drop(store);
    let public = fieldseal_core::crypto::DeviceSigner::public_key(&signer).unwrap();
    let installation = Installation::open(
        dir.path().join("data"),
        &harness::key_vault(dir.path()),
        Arc::new(signer),
        Arc::new(FixedClock::new(t("10:40"))),
    )
    .unwrap();
    let records = installation.records(&inspection_id);
    assert!(records.record().unwrap().is_none());
    let r = records.build(PartyStatement::confirmed(), true, None).unwrap();
    assert!(r.pages.iter().all(|p| p.text().contains(&format!("共{}页", r.pages.len()))));
    for (role, inspector, seed) in [
        (SignerRole::Inspector, Some("insp-001"), 1),
        (SignerRole::Inspector, Some("insp-002"), 2),
        (SignerRole::Party, None, 3),
    ] {
        records
            .sign(
                &r.record_id,
                &r.document_hash,
                role,
                inspector.map(str::to_owned),
                None,
                Strokes::synthetic(seed),
                harness::clock(),
                None,
            )
            .unwrap();
    }
    let frozen = records.freeze(&r.record_id).unwrap();
    assert!(frozen.frozen);
    assert_eq!(
        installation.inspections().open(&inspection_id).unwrap().state().unwrap(),
        InspectionState::Signed
    );
    let out = dir.path().join("phone-export.zip");
    let summary = records.export(&r.record_id, &out).unwrap();
    assert!(!summary.with_pdf, "the phone exports without a PDF view");
    let report =
        verify_bundle_file(&out, &VerifyOptions { trusted_key: Some(public), ..VerifyOptions::default() });
    assert!(report.ok(), "{}", report.render_text());
}

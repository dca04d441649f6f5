//! A stored inspection with sealed photos, submitted for signature, and its record signed: the
//! fixture of the record and bundle tests.
#![allow(dead_code)]

use fieldseal_core::{
    crypto::signer::SoftwareSigner,
    evidence::{CancelToken, EvidenceKind, IngestContext, IngestPolicy, StoredInspectionGuard, ingest},
    record::{
        BuildRequest, PartyStatement, SignRequest, SignerRole, Strokes,
        service::{self, RecordView},
    },
    store::{Store, inspections as db},
};

use crate::{
    inspection_support::*,
    support::{harness, testmedia},
};

pub struct Visit {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub signer: SoftwareSigner,
    pub inspection_id: String,
}

/// A stored thermal-plant inspection with two sealed photos, submitted for signature.
pub fn visit() -> Visit {
    visit_with(&[testmedia::photo_by(0), testmedia::photo_by(1)])
}

/// One tiny photo: the small bundle of the exhaustive tamper test.
pub fn small_visit() -> Visit {
    let spec = testmedia::PhotoSpec { width: 24, height: 16, thumbnail: false, ..Default::default() };
    visit_with(&[testmedia::photo(&spec)])
}

pub fn visit_with(photos: &[Vec<u8>]) -> Visit {
    let dir = tempfile::tempdir().unwrap();
    let store = harness::open_store(dir.path());
    let signer =
        SoftwareSigner::load_or_create(&harness::key_vault(dir.path()), &dir.path().join("device.key"))
            .unwrap();
    let mut i = recording();
    fill_header(&mut i);
    answer_all_passing(&mut i);
    let id = i.id().to_owned();
    store.write(|tx, keys| db::save_inspection(tx, keys, &i, &[])).unwrap();
    let cx = IngestContext {
        store: &store,
        signer: &signer,
        guard: &StoredInspectionGuard,
        policy: IngestPolicy::default(),
    };
    for (n, bytes) in photos.iter().enumerate() {
        let path = dir.path().join(format!("IMG_{n}.jpg"));
        std::fs::write(&path, bytes).unwrap();
        let mut req = harness::request(&path, EvidenceKind::Photo);
        req.inspection_id = id.clone();
        req.item_id = None;
        req.operator = "insp-001".into();
        ingest(&cx, &req, &CancelToken::new(), &mut |_| {}).unwrap();
    }
    store
        .write(|tx, keys| db::modify_inspection(tx, keys, &id, |i| i.submit_for_signature(t("10:30"))))
        .unwrap();
    Visit { dir, store, signer, inspection_id: id }
}

pub fn build(v: &Visit) -> RecordView {
    service::build(
        &v.store,
        &v.inspection_id,
        BuildRequest {
            party_statement: PartyStatement::confirmed(),
            rights_explained: true,
            back_fill_reason: None,
            at: t("10:35"),
        },
    )
    .unwrap()
}

pub fn sign_as(
    v: &Visit,
    r: &RecordView,
    role: SignerRole,
    inspector: Option<&str>,
    seed: u32,
) -> fieldseal_core::Result<()> {
    service::sign(
        &v.store,
        &v.signer,
        &SignRequest {
            record_id: r.record_id.clone(),
            shown_document_hash: r.document_hash.clone(),
            role,
            inspector_id: inspector.map(str::to_owned),
            witness_name: None,
            strokes: Strokes::synthetic(seed),
            clock: harness::clock(),
            location: Some(harness::fix()),
        },
    )
    .map(|_| ())
}

pub fn sign_all(v: &Visit, r: &RecordView) {
    sign_as(v, r, SignerRole::Inspector, Some("insp-001"), 1).unwrap();
    sign_as(v, r, SignerRole::Inspector, Some("insp-002"), 2).unwrap();
    sign_as(v, r, SignerRole::Party, None, 3).unwrap();
}

/// Builds, signs (two inspectors and the party), freezes and exports the record of `v`; returns
/// the record and the bundle path.
pub fn frozen_bundle(
    v: &Visit,
    pdf: Option<&dyn fieldseal_core::bundle::pdf::PdfRenderer>,
) -> (RecordView, std::path::PathBuf) {
    let r = build(v);
    sign_all(v, &r);
    service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap();
    let path = v.dir.path().join("bundle.zip");
    fieldseal_core::bundle::export(&v.store, &v.signer, &r.record_id, &path, pdf, t("11:00")).unwrap();
    (r, path)
}

/// Every member of a bundle, read into memory.
pub fn members(path: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut zip = fieldseal_core::bundle::zip::ZipReader::open(
        std::fs::File::open(path).unwrap(),
        fieldseal_core::bundle::zip::Limits::default(),
    )
    .unwrap();
    let names: Vec<String> = zip.members().iter().map(|m| m.name.clone()).collect();
    names
        .into_iter()
        .map(|n| {
            let b = zip.read(&n, 1 << 30).unwrap();
            (n, b)
        })
        .collect()
}

/// Writes `members` as a bundle zip at `path`.
pub fn write_zip(path: &std::path::Path, members: &std::collections::BTreeMap<String, Vec<u8>>) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = fieldseal_core::bundle::zip::ZipWriter::new(file);
    for (name, bytes) in members {
        zip.add_bytes(name, bytes).unwrap();
    }
    zip.finish().unwrap();
}

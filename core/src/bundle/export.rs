//! Writing a bundle: the frozen record with its frozen addenda, signatures, evidence originals
//! and manifests, the trail, the device key and (when a renderer is given) the PDF.
//!
//! The `record.exported` event and a signed head at it (a trail anchor) are written in one
//! transaction before the bundle, so the exported trail ends exactly at its last signed head and
//! the bundle carries every signed head of the stream (`trail/anchors.json`).
//!
//! The export is written to `<out>.partial` and renamed into place only when complete, so a
//! failed export leaves no half-written bundle. Evidence originals are decrypted from the vault
//! straight into the archive (one AEAD segment in memory) and their SHA-256 checked against the
//! signed manifest on the way: a bundle never carries an original that differs from what was sealed.

use std::{
    fs::{self, File, OpenOptions},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use chrono::{DateTime, FixedOffset};
use serde_json::json;

use super::{
    BundleError,
    format::{self, BundleManifest, DeviceKey, MemberEntry},
    pdf::PdfRenderer,
    zip::ZipWriter,
};
use crate::{
    CORE_VERSION, Result,
    crypto::{CryptoError, DeviceSigner, signer::key_id, stream::StreamDecryptor},
    protocol::{SignedEnvelope, canonicalize},
    record::{
        DocumentKind, SignerRole, Strokes,
        persist::{self, RecordState, StoredEntry, StoredRecord},
        statements::FreezeStatement,
    },
    store::{Store, anchors, evidence as evidence_rows, timestamp, trail},
    trail::{self as chain, DomainEvent},
};

/// What was written.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ExportSummary {
    pub path: PathBuf,
    pub record_id: String,
    pub document_hash: String,
    pub members: u64,
    pub bytes: u64,
    pub with_pdf: bool,
}

fn to_canonical<T: serde::Serialize>(value: &T) -> Result<String> {
    let v = serde_json::to_value(value)
        .map_err(|e| BundleError::NotAllowed { rule: "bundle.serialise", detail: e.to_string() })?;
    Ok(canonicalize(&v)?)
}

/// The statements a frozen record rests on, in the order its freeze statement lists them.
fn frozen_entries(record: &StoredRecord, all: Vec<StoredEntry>) -> Result<Vec<StoredEntry>> {
    let freeze = record.freeze.as_ref().ok_or_else(|| BundleError::NotAllowed {
        rule: "bundle.record_not_frozen",
        detail: "the record has no freeze statement".into(),
    })?;
    let statement: FreezeStatement = serde_json::from_value(freeze.payload.clone())
        .map_err(|e| BundleError::NotAllowed { rule: "bundle.freeze_unreadable", detail: e.to_string() })?;
    statement
        .entries
        .iter()
        .map(|f| {
            all.iter().find(|e| e.id == f.id).cloned().ok_or_else(|| {
                BundleError::NotAllowed {
                    rule: "bundle.entry_missing",
                    detail: format!("entry {} not stored", f.id),
                }
                .into()
            })
        })
        .collect()
}

/// Exports the frozen record `record_id` to a new file `out` (refused if it exists).
pub fn export(
    store: &Store,
    signer: &dyn DeviceSigner,
    record_id: &str,
    out: &Path,
    pdf: Option<&dyn PdfRenderer>,
    at: DateTime<FixedOffset>,
) -> Result<ExportSummary> {
    let record = store.read(|c, k| persist::load_record(c, k, record_id))?;
    if record.state != RecordState::Frozen || record.kind != DocumentKind::Record {
        return Err(BundleError::NotAllowed {
            rule: "bundle.record_not_frozen",
            detail: "only a frozen record (not an addendum) is exported".into(),
        }
        .into());
    }
    if out.exists() {
        return Err(
            BundleError::Output { path: out.display().to_string(), reason: "already exists".into() }.into()
        );
    }
    let addenda: Vec<StoredRecord> = store
        .read(|c, k| persist::records_of_inspection(c, k, &record.inspection_id))?
        .into_iter()
        .filter(|r| r.kind == DocumentKind::Addendum && r.state == RecordState::Frozen)
        .filter(|r| r.amends_record_id.as_deref() == Some(record_id))
        .collect();
    let public_key = signer.public_key()?;
    let device_key_id = key_id(&public_key)?;
    let stream = format!("inspection:{}", record.inspection_id);
    let signed_at = timestamp(at.with_timezone(&chrono::Utc));
    store.write(|tx, keys| {
        trail::append(
            tx,
            keys,
            &DomainEvent::new(
                &stream,
                "record.exported",
                json!({ "record_id": record.id, "document_hash": record.document_hash,
                        "addenda": addenda.iter().map(|a| &a.id).collect::<Vec<_>>(),
                        "with_pdf": pdf.is_some(), "at": at }),
            ),
        )?;
        anchors::sign_head(tx, keys, signer, &stream, &signed_at)
    })?;
    let (trail_entries, signed_heads) = store.read(|c, k| {
        let entries = trail::verify_stream(c, k, &stream)?;
        let heads: Vec<SignedEnvelope> =
            anchors::of_stream(c, k, &stream)?.into_iter().map(|a| a.envelope).collect();
        Ok((entries, heads))
    })?;

    let partial = out.with_extension("partial");
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .map_err(|e| BundleError::Output { path: partial.display().to_string(), reason: e.to_string() })?;
    let written = write_bundle(
        store,
        signer,
        file,
        &record,
        &addenda,
        &trail_entries,
        &signed_heads,
        &DeviceKey::new(&public_key)?,
        &device_key_id,
        pdf,
        at,
    );
    let members = match written {
        Ok(m) => m,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
    };
    fs::rename(&partial, out)
        .map_err(|e| BundleError::Output { path: out.display().to_string(), reason: e.to_string() })?;
    let bytes = fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(ExportSummary {
        path: out.to_owned(),
        record_id: record.id.clone(),
        document_hash: record.document_hash.clone(),
        members: members as u64 + 1,
        bytes,
        with_pdf: pdf.is_some(),
    })
}

#[allow(clippy::too_many_arguments)]
fn write_bundle(
    store: &Store,
    signer: &dyn DeviceSigner,
    file: File,
    record: &StoredRecord,
    addenda: &[StoredRecord],
    trail_entries: &[chain::TrailEntry],
    signed_heads: &[SignedEnvelope],
    device_key: &DeviceKey,
    device_key_id: &str,
    pdf: Option<&dyn PdfRenderer>,
    at: DateTime<FixedOffset>,
) -> Result<usize> {
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let mut members: Vec<MemberEntry> = Vec::new();
    let add = |zip: &mut ZipWriter<BufWriter<File>>,
               members: &mut Vec<MemberEntry>,
               path: String,
               bytes: &[u8]|
     -> Result<()> {
        let (size, sha256) = zip.add_bytes(&path, bytes)?;
        members.push(MemberEntry { path, size, sha256 });
        Ok(())
    };
    add(&mut zip, &mut members, format::DEVICE_KEY_PATH.into(), to_canonical(device_key)?.as_bytes())?;
    for r in std::iter::once(record).chain(addenda) {
        let entries = frozen_entries(r, store.read(|c, k| persist::entries_of_record(c, k, &r.id))?)?;
        add(&mut zip, &mut members, format::document_path(&r.id), r.document.to_canonical()?.as_bytes())?;
        let freeze = r.freeze.as_ref().map(SignedEnvelope::to_json_string).transpose()?.unwrap_or_default();
        add(&mut zip, &mut members, format::freeze_path(&r.id), freeze.as_bytes())?;
        let mut drawn: Vec<(SignerRole, Strokes)> = Vec::new();
        for e in &entries {
            add(
                &mut zip,
                &mut members,
                format::entry_path(&r.id, &e.id),
                e.envelope.to_json_string()?.as_bytes(),
            )?;
            if let (Some(strokes), Some(png)) = (&e.strokes_json, &e.image_png) {
                add(&mut zip, &mut members, format::strokes_path(&r.id, &e.id), strokes)?;
                add(&mut zip, &mut members, format::image_path(&r.id, &e.id), png)?;
                let parsed: Strokes = serde_json::from_slice(strokes).map_err(|err| {
                    BundleError::NotAllowed { rule: "bundle.strokes_unreadable", detail: err.to_string() }
                })?;
                drawn.push((e.role, parsed));
            }
        }
        if let Some(renderer) = pdf {
            let bytes = renderer
                .render(&r.document, &drawn)
                .map_err(|reason| BundleError::Member { name: format::pdf_path(&r.id), reason })?;
            add(&mut zip, &mut members, format::pdf_path(&r.id), &bytes)?;
        }
    }
    let rows = store.read(|c, k| evidence_rows::list_for_inspection(c, k, &record.inspection_id))?;
    for row in &rows {
        add(
            &mut zip,
            &mut members,
            format::evidence_manifest_path(&row.id),
            row.envelope.to_json_string()?.as_bytes(),
        )?;
        let path = format::original_path(&row.id, &row.media_type);
        let expected =
            row.envelope.payload.get("sha256").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        // The signed size announces a long video (4 GiB or more) to the writer before its bytes.
        let expected_size = row.envelope.payload.get("size").and_then(|v| v.as_u64()).unwrap_or_default();
        let (size, sha256) = zip.add_with(&path, expected_size, |w| {
            let blob = store.vault().open_blob(&row.blob_id)?;
            let mut decryptor = StreamDecryptor::open(&store.keys().stream, blob)?;
            decryptor.decrypt_to(&mut *w)?;
            Ok(())
        })?;
        if sha256 != expected {
            return Err(CryptoError::integrity(format!(
                "evidence {} does not match its sealed hash",
                row.id
            ))
            .into());
        }
        members.push(MemberEntry { path, size, sha256 });
    }
    let trail_json = to_canonical(&trail_entries)?;
    add(&mut zip, &mut members, format::TRAIL_PATH.into(), trail_json.as_bytes())?;
    let heads_json = to_canonical(&signed_heads)?;
    add(&mut zip, &mut members, format::ANCHORS_PATH.into(), heads_json.as_bytes())?;

    members.sort();
    let count = members.len();
    let manifest = BundleManifest {
        statement: format::BUNDLE_TYPE.into(),
        v: format::BUNDLE_VERSION,
        inspection_id: record.inspection_id.clone(),
        record_id: record.id.clone(),
        addenda: addenda.iter().map(|a| a.id.clone()).collect(),
        device_key_id: device_key_id.to_owned(),
        created_at: timestamp(at.with_timezone(&chrono::Utc)),
        core_version: CORE_VERSION.into(),
        pdf: pdf.map(|p| p.provenance()),
        members,
    };
    let payload = serde_json::to_value(&manifest)
        .map_err(|e| BundleError::NotAllowed { rule: "bundle.serialise", detail: e.to_string() })?;
    let envelope = SignedEnvelope::seal(&payload, signer)?;
    zip.add_bytes(format::MANIFEST_PATH, envelope.to_json_string()?.as_bytes())?;
    let mut out = zip.finish()?;
    out.flush().map_err(|e| BundleError::Output { path: "bundle".into(), reason: e.to_string() })?;
    let file =
        out.into_inner().map_err(|e| BundleError::Output { path: "bundle".into(), reason: e.to_string() })?;
    file.sync_all().map_err(|e| BundleError::Output { path: "bundle".into(), reason: e.to_string() })?;
    Ok(count)
}

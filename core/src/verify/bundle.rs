//! 离线校验 — checking an exported bundle offline, with public keys only.
//!
//! In order: the zip structure; the signed member list under the device key (and, when given,
//! that the key is the one the caller trusts); every member's presence, size and SHA-256 (missing,
//! extra and renamed members are named); the trail chain; each record's page hashes, document
//! hash and layout; the signed trail heads against the trail; its freeze statement, the trail head it signed, every signature (strokes and
//! image included) and refusal and the signature rules; each addendum's link to the record; every
//! evidence manifest, original and trail event; the PDF text against the signed pages.
//!
//! A check that rests on a member that already failed is reported as not checked, naming it,
//! rather than repeated: one altered byte gives one clear failure at the member it is in.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::File,
    path::Path,
};

use super::{anchors, report::VerificationReport, source::MemberSource};
use crate::{
    bundle::{
        format::{self, BundleManifest, DeviceKey, MemberEntry},
        pdf::{PdfText, normalise_text},
        zip::{Limits, ZipReader},
    },
    evidence::EvidenceManifest,
    protocol::{SignedEnvelope, canonicalize, parse_strict},
    record::{
        DocumentKind, RecordDocument,
        statements::{self, Binding, RefusalStatement, SignatureStatement},
    },
    trail::{TrailEntry, verify_chain},
};

/// Largest JSON, PNG or PDF member read into memory.
const MAX_SMALL_MEMBER: u64 = 64 << 20;

/// What the caller supplies besides the bundle.
#[derive(Default)]
pub struct VerifyOptions<'a> {
    /// Reads page texts from the PDF; without it the PDF check is reported as not checked.
    pub pdf_text: Option<&'a dyn PdfText>,
    /// The device public key the caller trusts (from enrolment); without it the bundle's own key
    /// is used and the report says which key that was.
    pub trusted_key: Option<Vec<u8>>,
    /// Stop after the member list and member hashes when anything failed there (intake rejecting
    /// an upload needs the first reason, not the full report).
    pub fail_fast: bool,
}

/// Verifies the bundle file at `path`.
pub fn verify_bundle_file(path: &Path, options: &VerifyOptions<'_>) -> VerificationReport {
    let mut report = VerificationReport::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.fail("bundle.open", path.display().to_string(), e.to_string());
            return report;
        }
    };
    match ZipReader::open(file, Limits::default()) {
        Ok(mut zip) => {
            report.pass(
                "bundle.structure",
                path.display().to_string(),
                format!("{} members, safe names", zip.members().len()),
            );
            verify_members(&mut zip, options, &mut report);
        }
        Err(e) => report.fail("bundle.structure", path.display().to_string(), e.to_string()),
    }
    report
}

/// The members that passed their hash check, for dependent checks.
struct Trusted {
    ok: BTreeSet<String>,
    failed: BTreeSet<String>,
}

impl Trusted {
    /// Reads `path` for a dependent check, or reports why it cannot be checked.
    fn read(
        &self,
        src: &mut dyn MemberSource,
        report: &mut VerificationReport,
        check: &'static str,
        path: &str,
    ) -> Option<Vec<u8>> {
        if self.failed.contains(path) {
            report.skip(check, path, "not checked: this member is missing or altered (see above)");
            return None;
        }
        if !self.ok.contains(path) {
            report.fail(check, path, "the member list does not name this member");
            return None;
        }
        match src.read(path, MAX_SMALL_MEMBER) {
            Ok(b) => Some(b),
            Err(e) => {
                report.fail(check, path, e);
                None
            }
        }
    }
}

/// Parses JSON that must be exactly its canonical form (so no byte can change without meaning).
fn canonical_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    let value = parse_strict(text).map_err(|e| e.to_string())?;
    let canonical = canonicalize(&value).map_err(|e| e.to_string())?;
    if canonical != text {
        return Err("not in canonical JSON form (RFC 8785)".into());
    }
    Ok(value)
}

fn envelope_of(bytes: &[u8]) -> Result<SignedEnvelope, String> {
    let value = canonical_json(bytes)?;
    serde_json::from_value(value).map_err(|e| format!("not a signed envelope: {e}"))
}

fn typed<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_value(canonical_json(bytes)?).map_err(|e| e.to_string())
}

/// Verifies a bundle's members from any source, appending to `report`.
pub fn verify_members(
    src: &mut dyn MemberSource,
    options: &VerifyOptions<'_>,
    report: &mut VerificationReport,
) {
    let names: BTreeSet<String> = src.names().into_iter().collect();

    // 1. The signed member list and the device key.
    let Some(list_bytes) = (match src.read(format::MANIFEST_PATH, MAX_SMALL_MEMBER) {
        Ok(b) => Some(b),
        Err(e) => {
            report.fail("bundle.member_list", format::MANIFEST_PATH, e);
            None
        }
    }) else {
        return;
    };
    let Some(list_envelope) = report.check(
        "bundle.member_list",
        format::MANIFEST_PATH,
        "canonical signed envelope",
        envelope_of(&list_bytes),
    ) else {
        return;
    };
    let key = match src.read(format::DEVICE_KEY_PATH, 4096) {
        Ok(bytes) => typed::<DeviceKey>(&bytes).map_err(|e| e.to_string()).and_then(|k| {
            if k.statement != format::DEVICE_KEY_TYPE || k.alg != "ES256" {
                return Err("not a fieldseal ES256 device key".into());
            }
            k.public_key().map(|pk| (k.key_id.clone(), pk)).map_err(|e| e.to_string())
        }),
        Err(e) => Err(e),
    };
    let Some((key_id, public_key)) =
        report.check("bundle.device_key", format::DEVICE_KEY_PATH, "P-256 public key, id matches", key)
    else {
        return;
    };
    match &options.trusted_key {
        Some(trusted) if trusted != &public_key => {
            report.fail("bundle.device_key_trusted", format::DEVICE_KEY_PATH, "not the device key you trust");
            return;
        }
        Some(_) => report.pass("bundle.device_key_trusted", format::DEVICE_KEY_PATH, "the key you trust"),
        None => report.pass(
            "bundle.device_key_trusted",
            format::DEVICE_KEY_PATH,
            format!("no trusted key given: checked against the bundle's own key {key_id}; compare it with the enrolment"),
        ),
    }
    if report
        .check(
            "bundle.member_list_signature",
            format::MANIFEST_PATH,
            "ES256 by the device key",
            list_envelope.verify(&public_key),
        )
        .is_none()
    {
        return;
    }
    let manifest = serde_json::from_value::<BundleManifest>(list_envelope.payload.clone())
        .map_err(|e| e.to_string())
        .and_then(|m| {
            if m.statement != format::BUNDLE_TYPE || m.v != format::BUNDLE_VERSION {
                Err(format!("not a {} v{}", format::BUNDLE_TYPE, format::BUNDLE_VERSION))
            } else if m.device_key_id != key_id {
                Err("names another device key".into())
            } else {
                Ok(m)
            }
        });
    let Some(manifest) =
        report.check("bundle.member_list_format", format::MANIFEST_PATH, "fieldseal.bundle v1", manifest)
    else {
        return;
    };

    // 2. Every member present, none extra, each with its listed size and hash.
    let mut trusted = Trusted { ok: BTreeSet::new(), failed: BTreeSet::new() };
    // Indexed by path: a bundle may list many thousands of members (zip64).
    let listed: BTreeMap<&str, &MemberEntry> =
        manifest.members.iter().map(|m| (m.path.as_str(), m)).collect();
    for name in &names {
        if name != format::MANIFEST_PATH && !listed.contains_key(name.as_str()) {
            report.fail(
                "member.extra",
                name,
                "in the archive but not in the signed member list (added or renamed)",
            );
        }
    }
    for m in &manifest.members {
        if !names.contains(&m.path) {
            report.fail(
                "member.missing",
                &m.path,
                "in the signed member list but not in the archive (removed or renamed)",
            );
            trusted.failed.insert(m.path.clone());
            continue;
        }
        match src.digest(&m.path) {
            Ok((size, sha)) if size == m.size && sha == m.sha256 => {
                report.pass("member.hash", &m.path, format!("{size} bytes, SHA-256 {}", &sha[..16]));
                trusted.ok.insert(m.path.clone());
            }
            Ok((size, sha)) => {
                report.fail(
                    "member.hash",
                    &m.path,
                    format!(
                        "altered: {size} bytes with SHA-256 {sha}, the list says {} bytes {}",
                        m.size, m.sha256
                    ),
                );
                trusted.failed.insert(m.path.clone());
            }
            Err(e) => {
                report.fail("member.hash", &m.path, e);
                trusted.failed.insert(m.path.clone());
            }
        }
    }

    if options.fail_fast && report.failures().next().is_some() {
        return;
    }

    // 3. The trail.
    let stream = format!("inspection:{}", manifest.inspection_id);
    let trail: Option<Vec<TrailEntry>> = trusted
        .read(src, report, "trail.chain", format::TRAIL_PATH)
        .and_then(|b| {
            report.check("trail.format", format::TRAIL_PATH, "trail entries", typed::<Vec<TrailEntry>>(&b))
        })
        .and_then(|entries| {
            let head = verify_chain(&stream, &entries).map_err(|e| e.to_string());
            let detail = format!("{} events linked from genesis, every hash recomputed", entries.len());
            report.check("trail.chain", format::TRAIL_PATH, detail, head).map(|_| entries)
        });
    // The signed heads: each by the device key, each still in the trail, the trail ending at the last.
    if listed.contains_key(format::ANCHORS_PATH) {
        let envelopes = trusted.read(src, report, "trail.anchors", format::ANCHORS_PATH).and_then(|b| {
            report.check(
                "trail.anchors",
                format::ANCHORS_PATH,
                "canonical list of signed trail heads",
                typed::<Vec<SignedEnvelope>>(&b),
            )
        });
        if let Some(envelopes) = envelopes {
            anchors::check_signed_heads(report, &public_key, &stream, &envelopes, trail.as_deref());
        }
    } else {
        report.skip(
            "trail.anchors",
            format::ANCHORS_PATH,
            "this bundle carries no signed trail heads (exported before bundles did): the end of its trail is not covered",
        );
    }
    let has_event = |kind: &str, field: &str, value: &str| {
        trail.as_ref().is_some_and(|t| {
            t.iter().any(|e| e.kind == kind && e.payload.get(field).and_then(|v| v.as_str()) == Some(value))
        })
    };

    // 4. Evidence: each manifest verifies and its original is the listed member.
    let mut evidence: Vec<EvidenceManifest> = Vec::new();
    let evidence_ids: BTreeSet<String> = manifest
        .members
        .iter()
        .filter_map(|m| {
            m.path.strip_prefix("evidence/").and_then(|p| p.strip_suffix("/manifest.json")).map(str::to_owned)
        })
        .collect();
    for id in &evidence_ids {
        let path = format::evidence_manifest_path(id);
        let Some(bytes) = trusted.read(src, report, "evidence.manifest", &path) else { continue };
        let checked = envelope_of(&bytes).and_then(|env| {
            env.verify(&public_key).map_err(|e| e.to_string())?;
            let m: EvidenceManifest =
                serde_json::from_value(env.payload.clone()).map_err(|e| e.to_string())?;
            m.check_format()?;
            if &m.evidence_id != id || m.inspection_id != manifest.inspection_id {
                return Err("names another evidence item or inspection".into());
            }
            Ok(m)
        });
        let Some(m) = report.check("evidence.manifest", &path, "signed by the device key", checked) else {
            continue;
        };
        let original = format::original_path(id, m.media_type.mime());
        match listed.get(original.as_str()) {
            Some(e) if e.sha256 == m.sha256 && e.size == m.size && trusted.ok.contains(&original) => {
                report.pass("evidence.original", &original, "the bytes sealed at capture (SHA-256 as signed)")
            }
            Some(_) if trusted.failed.contains(&original) => report.skip(
                "evidence.original",
                &original,
                "not checked: this member is missing or altered (see above)",
            ),
            Some(_) => {
                report.fail("evidence.original", &original, "differs from the hash in its signed manifest")
            }
            None => report.fail("evidence.original", &original, "the original is not in the bundle"),
        }
        if trail.is_some() {
            if has_event("evidence.sealed", "evidence_id", id)
                && has_event("evidence.sealed", "sha256", &m.sha256)
            {
                report.pass("trail.evidence_sealed", &path, "sealing recorded in the trail");
            } else {
                report.fail(
                    "trail.evidence_sealed",
                    &path,
                    "no evidence.sealed event names this item and hash",
                );
            }
        }
        evidence.push(m);
    }

    // 5. The record and its addenda.
    let mut main_hash: Option<String> = None;
    for record_id in std::iter::once(&manifest.record_id).chain(&manifest.addenda) {
        let path = format::document_path(record_id);
        let Some(bytes) = trusted.read(src, report, "record.document", &path) else { continue };
        let doc = typed::<RecordDocument>(&bytes).and_then(|d| {
            if &d.content.record_id != record_id || d.content.inspection_id != manifest.inspection_id {
                Err("names another record or inspection".to_owned())
            } else {
                Ok(d)
            }
        });
        let Some(doc) = report.check("record.document", &path, "canonical record document", doc) else {
            continue;
        };
        let hashes = doc.page_hashes().and_then(|p| doc.document_hash().map(|d| (p, d)));
        let Some((page_hashes, document_hash)) = report.check(
            "record.hashes",
            &path,
            format!("{} page hashes and the document hash", doc.pages.len()),
            hashes.map_err(|e| e.to_string()),
        ) else {
            continue;
        };
        if doc.pages_match_content() {
            report.pass("record.layout", &path, "the pages are the layout of the content (layout v1)");
        } else {
            report.fail("record.layout", &path, "the pages do not show what the content says");
        }
        let is_main = record_id == &manifest.record_id;
        match (is_main, doc.content.kind) {
            (true, DocumentKind::Record) => main_hash = Some(document_hash.clone()),
            (false, DocumentKind::Addendum) => {
                let amends = doc.content.amends.as_ref();
                let linked = amends.is_some_and(|a| {
                    a.record_id == manifest.record_id && Some(&a.document_hash) == main_hash.as_ref()
                });
                if linked {
                    report.pass("addendum.amends", &path, "names the frozen record by its document hash");
                } else {
                    report.fail("addendum.amends", &path, "does not name the record's document hash");
                }
            }
            _ => report.fail("record.kind", &path, "a record where an addendum belongs, or the reverse"),
        }
        let binding = Binding { record_id, document_hash: &document_hash, page_hashes: &page_hashes };

        let freeze_path = format::freeze_path(record_id);
        let freeze = trusted.read(src, report, "record.freeze", &freeze_path).and_then(|b| {
            let f = envelope_of(&b).and_then(|env| {
                statements::verify_freeze(&env, &public_key, binding).map_err(|e| e.to_string())
            });
            report.check(
                "record.freeze",
                &freeze_path,
                "frozen over this document, signed by the device key",
                f,
            )
        });
        let Some(freeze) = freeze else { continue };
        if let Some(t) = &trail {
            let head_ok = freeze.trail_head.stream == stream
                && t.get((freeze.trail_head.seq - 1).max(0) as usize)
                    .is_some_and(|e| e.seq == freeze.trail_head.seq && e.hash == freeze.trail_head.hash);
            if head_ok {
                report.pass(
                    "record.trail_head",
                    &freeze_path,
                    format!("the signed trail head (event {}) is in the chain", freeze.trail_head.seq),
                );
            } else {
                report.fail(
                    "record.trail_head",
                    &freeze_path,
                    "the trail head signed at freeze is not in the exported chain",
                );
            }
            let frozen_event = t.iter().any(|e| {
                e.kind == "record.frozen"
                    && e.payload.get("record_id").and_then(|v| v.as_str()) == Some(record_id)
                    && e.payload.get("document_hash").and_then(|v| v.as_str()) == Some(&document_hash)
            });
            let signed_event = doc.content.kind == DocumentKind::Addendum
                || t.iter().any(|e| {
                    e.kind == "inspection.signed"
                        && e.payload.get("content_hash").and_then(|v| v.as_str()) == Some(&document_hash)
                });
            if frozen_event && signed_event {
                report.pass("trail.record_frozen", &freeze_path, "freeze recorded in the trail");
            } else {
                report.fail("trail.record_frozen", &freeze_path, "the trail does not record this freeze");
            }
        }

        let mut signatures: Vec<SignatureStatement> = Vec::new();
        let mut refusals: Vec<RefusalStatement> = Vec::new();
        // An entry resting on an altered member cannot count for or against the rules.
        let mut unverifiable = false;
        for entry in &freeze.entries {
            let entry_path = format::entry_path(record_id, &entry.id);
            let members = [
                entry_path.clone(),
                format::strokes_path(record_id, &entry.id),
                format::image_path(record_id, &entry.id),
            ];
            if members.iter().any(|m| trusted.failed.contains(m)) {
                unverifiable = true;
            }
            let Some(bytes) = trusted.read(src, report, "record.entry", &entry_path) else { continue };
            if statements::sha256_hex(&bytes) != entry.statement_sha256 {
                report.fail("record.entry", &entry_path, "not the statement the freeze lists");
                continue;
            }
            let Some(env) = report.check(
                "record.entry",
                &entry_path,
                "listed in the freeze statement",
                envelope_of(&bytes),
            ) else {
                continue;
            };
            if entry.entry == "refusal" {
                let r = statements::verify_refusal(&env, &public_key, binding).map_err(|e| e.to_string());
                if let Some(r) = report.check(
                    "record.refusal",
                    &entry_path,
                    "refusal with reason, signed over this document",
                    r,
                ) {
                    refusals.push(r);
                }
            } else {
                let strokes_path = format::strokes_path(record_id, &entry.id);
                let image_path = format::image_path(record_id, &entry.id);
                let strokes = trusted.read(src, report, "record.signature", &strokes_path);
                let image = trusted.read(src, report, "record.signature", &image_path);
                let (Some(strokes), Some(image)) = (strokes, image) else { continue };
                let s = statements::verify_signature(&env, &public_key, binding, &strokes, &image)
                    .map_err(|e| e.to_string());
                if let Some(s) = report.check(
                    "record.signature",
                    &entry_path,
                    "binds document, every page, strokes and image; signed by the device key",
                    s,
                ) {
                    signatures.push(s);
                }
            }
            if trail.is_some()
                && !has_event(
                    if entry.entry == "refusal" { "record.refused" } else { "record.signed" },
                    "entry_id",
                    &entry.id,
                )
            {
                report.fail("trail.record_signed", &entry_path, "the trail does not record this signature");
            }
        }
        let videos: Vec<&str> = evidence
            .iter()
            .filter(|m| m.kind == crate::evidence::EvidenceKind::Video)
            .map(|m| m.evidence_id.as_str())
            .collect();
        let unmet = statements::unmet_signature_rules(&doc.content, &signatures, &refusals, &|id| {
            videos.contains(&id)
        });
        if unverifiable {
            report.skip(
                "record.signature_rules",
                &freeze_path,
                "not checked: a signature or refusal member is missing or altered (see above)",
            );
        } else if unmet.is_empty() {
            report.pass(
                "record.signature_rules",
                &freeze_path,
                "two inspectors of the team, and the party or a witnessed refusal",
            );
        } else {
            report.fail("record.signature_rules", &freeze_path, unmet.join(", "));
        }

        if is_main {
            for e in &doc.content.evidence {
                match evidence.iter().find(|m| m.evidence_id == e.id) {
                    Some(m) if m.sha256 == e.sha256 && m.size == e.size => report.pass(
                        "record.evidence",
                        format::evidence_manifest_path(&e.id),
                        "listed in the record with the same hash",
                    ),
                    Some(_) => report.fail(
                        "record.evidence",
                        format::evidence_manifest_path(&e.id),
                        "the record lists another hash or size",
                    ),
                    None => report.skip(
                        "record.evidence",
                        format::evidence_manifest_path(&e.id),
                        "its manifest could not be verified (see above)",
                    ),
                }
            }
        }

        // 6. The PDF view against the signed pages.
        let pdf_path = format::pdf_path(record_id);
        if manifest.pdf.is_none() && !listed.contains_key(pdf_path.as_str()) {
            report.pass(
                "pdf.text",
                &pdf_path,
                "exported without a PDF view (phone export); the signed pages are the record",
            );
            continue;
        }
        let Some(pdf) = trusted.read(src, report, "pdf.text", &pdf_path) else { continue };
        let Some(reader) = options.pdf_text else {
            report.skip("pdf.text", &pdf_path, "this build has no PDF reader (use the fieldseal CLI)");
            continue;
        };
        match reader.page_texts(&pdf) {
            Ok(texts) if texts.len() != doc.pages.len() => report.fail(
                "pdf.text",
                &pdf_path,
                format!("{} pages, the record has {}", texts.len(), doc.pages.len()),
            ),
            Ok(texts) => {
                let differing: Vec<String> = texts
                    .iter()
                    .zip(&doc.pages)
                    .filter(|(t, p)| normalise_text(t) != normalise_text(&p.text()))
                    .map(|(_, p)| p.number.to_string())
                    .collect();
                if differing.is_empty() {
                    report.pass(
                        "pdf.text",
                        &pdf_path,
                        format!("the text of all {} pages is the signed page text", texts.len()),
                    );
                } else {
                    report.fail(
                        "pdf.text",
                        &pdf_path,
                        format!("page(s) {} show other text than the signed pages", differing.join(", ")),
                    );
                }
            }
            Err(e) => report.fail("pdf.text", &pdf_path, format!("cannot read the PDF: {e}")),
        }
    }
}

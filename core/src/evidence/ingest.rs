//! 证据固定 — sealing a capture: one streaming pass that hashes and encrypts, then metadata, the
//! signed manifest, and one transaction.
//!
//! Order of durability (DESIGN.md §4):
//! 1. the original is read once in chunks: each chunk is SHA-256'd (requirement 4: hashed before any
//!    processing), structure-checked (JPEG) and encrypted into a vault `PendingBlob` (stream v2,
//!    padded to its size class: docs/decisions/0011); memory holds one chunk and one AEAD segment
//!    whatever the file size;
//! 2. the blob is committed (fsync, rename, directory fsync) on a second thread while
//! 3. EXIF and the thumbnail are read back from the *sealed* bytes (the pending file), so the
//!    manifest describes exactly what was hashed even if the source file changes afterwards;
//! 4. once the commit returned, the manifest is built and signed by the device key;
//! 5. the evidence row (with the thumbnail sealed in it), its trail event and its outbox row commit
//!    in one transaction, durable when it returns ([`Store::write_capture`]: the `-wal` checkpoint
//!    that scrubs what it superseded runs after, on a thread of its own);
//! 6. only then is the plaintext source removed — and only if the path still names the file that
//!    was read.
//!
//! Any failure or cancellation before step 5 commits removes the blobs written so far and leaves
//! the source untouched, so the app can retry. A crash between 2 and 5 leaves a blob no row names;
//! [`super::sweep_orphan_blobs`] quarantines those when the store opens (and removes one only when
//! it is provably never committed).
//!
//! The request ([`super::request`]), the capture gate ([`super::gate`]), the cancel token
//! ([`super::cancel`]) and the orphan sweep ([`super::sweep`]) live beside this file; this one is
//! the pipeline.

use std::{
    fs::File,
    io::{self, BufReader, Read, Seek, SeekFrom},
    path::Path,
    sync::{Arc, mpsc},
};

use ring::digest;
use rusqlite::Connection;
use serde_json::json;

use super::{
    CancelToken, CaptureFlag, CaptureGate, CaptureGuard, EvidenceError, EvidenceKind, EvidenceManifest,
    ExifData, IngestRequest, LocationPolicy, MediaType, ParentRef, TimePolicy,
    exif::read_exif_from,
    kind_accepts, location,
    manifest::{MANIFEST_TYPE, MANIFEST_VERSION},
    media::SNIFF_LEN,
    preview,
    structure::{StructureCheck, StructureReport},
    sweep::blob_id,
    thumbnail::{Preview, make_thumbnail_from},
    time,
};
use crate::{
    CORE_VERSION, Result,
    crypto::{
        CryptoError, DeviceSigner,
        column::hex,
        signer::key_id,
        stream::{StreamDecryptor, StreamEncryptor},
    },
    id::new_id,
    input_file,
    outbox::{self, OutboxKind},
    protocol::SignedEnvelope,
    store::{
        Keyring, Store, StoreError,
        evidence::{self as rows, NewEvidence},
        vault::PendingBlob,
    },
    trail::DomainEvent,
};

/// The largest capture sealed as one item: four hours of 4K phone video is about 64 GiB. Larger
/// is refused before a byte is read, so a file that claims to be evidence cannot fill the vault.
pub const MAX_SOURCE_BYTES: u64 = 64 << 30;
/// Bytes read from the source per step; also the granularity of cancellation.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Chunks queued for the hashing thread.
const PIPELINE_DEPTH: usize = 4;
/// Tunable thresholds for flags, and the streaming granularity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IngestPolicy {
    pub location: LocationPolicy,
    pub time: TimePolicy,
    pub chunk_size: usize,
    /// Server clock minus device clock (ms) as sync last measured it: recorded in captures whose
    /// platform clock reading carries none, and flagged when beyond the time policy's tolerance.
    pub known_server_offset_ms: Option<i64>,
}

impl Default for IngestPolicy {
    fn default() -> Self {
        Self {
            location: LocationPolicy::default(),
            time: TimePolicy::default(),
            chunk_size: CHUNK_SIZE,
            known_server_offset_ms: None,
        }
    }
}

/// Bytes of the source sealed so far. Reported about every 1 % (and at least every 4 MiB), not
/// per chunk, so a listener across the FFI is not flooded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestProgress {
    pub done: u64,
    pub total: u64,
}

/// What ingest sealed.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IngestOutcome {
    pub evidence_id: String,
    pub manifest: EvidenceManifest,
    pub has_thumbnail: bool,
    /// True when this exact capture (same bytes, inspection and links) was sealed before, e.g. by an
    /// attempt interrupted after its commit: nothing new was stored and the existing id is returned.
    pub already_sealed: bool,
    /// Whether the plaintext source was removed (false if it had been replaced or removal failed).
    pub source_removed: bool,
}

/// Everything ingest needs from the app: the store, the device key and the inspection gate.
pub struct IngestContext<'a> {
    pub store: &'a Store,
    pub signer: &'a dyn DeviceSigner,
    pub guard: &'a dyn CaptureGuard,
    pub policy: IngestPolicy,
}

/// Seals one capture. See the module documentation for the order of durability.
pub fn ingest(
    cx: &IngestContext<'_>,
    req: &IngestRequest,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(IngestProgress),
) -> Result<IngestOutcome> {
    req.validate()?;
    let gate = cx.store.read(|conn, keys| cx.guard.capture_gate(conn, keys, &req.inspection_id))?;
    gate.require_capturing()?;
    let parent = match (&req.parent, &req.derivation) {
        (Some(id), Some(how)) => Some(parent_ref(cx.store, req, id, how)?),
        _ => None,
    };
    let public_key = cx.signer.public_key()?;
    let device_key_id = key_id(&public_key)?;

    let evidence_id = new_id()?;
    let mut blobs = BlobCleanup { store: cx.store, ids: Vec::new() };
    let original_blob = blob_id(&evidence_id);
    let (sealed, pending) =
        seal_original(cx.store, &original_blob, req, cx.policy.chunk_size, cancel, progress)?;
    if preview::is_platform_preview(req.derivation.as_deref()) {
        preview::check_preview(sealed.media)?;
    }
    cancel.check()?;

    // Step 2 and 3 at once: the blob's fsync, rename and directory fsync are latency, not work, so
    // EXIF and the preview are read back from the sealed bytes (the pending file, through a handle
    // that survives the rename) meanwhile. Nothing below uses the blob before its commit returned.
    let reader = pending.reader()?;
    let (committed, back) = std::thread::scope(|scope| {
        let committing = scope.spawn(move || pending.commit());
        let back = read_back(cx.store, reader, sealed.media, sealed.size);
        (committing.join(), back)
    });
    committed
        .map_err(|_| EvidenceError::invalid("ingest", "the vault commit stopped"))?
        .map_err(vault_storage)?;
    blobs.ids.push(original_blob.clone());
    let (exif, preview) = back?;
    let preview_flag = preview.flag();
    // The thumbnail is sealed in the evidence row (store::evidence), not in a vault file of its own:
    // it commits with the row, and a capture needs one durable file, not two.
    let thumbnail = preview.made().map(|(bytes, _)| bytes);
    let thumbnail_sha256 = thumbnail.as_ref().map(|t| hex(digest::digest(&digest::SHA256, t).as_ref()));

    let mut manifest = build_manifest(
        req,
        &gate,
        &cx.policy,
        &evidence_id,
        &sealed,
        exif.as_ref(),
        device_key_id,
        parent,
        thumbnail_sha256,
    );
    manifest.flags.extend(preview_flag);
    let payload = serde_json::to_value(&manifest)
        .map_err(|e| EvidenceError::invalid("manifest", format!("cannot serialise: {e}")))?;
    let envelope = SignedEnvelope::seal(&payload, cx.signer)?;

    cancel.check()?;
    // Durable when it returns; the checkpoint that scrubs the `-wal` follows on its own thread.
    let existing = cx.store.write_capture(|tx, keys| {
        // Re-check inside the write lock: the inspection may have moved on while we hashed.
        cx.guard.capture_gate(tx, keys, &req.inspection_id)?.require_capturing()?;
        if let Some(existing) = same_capture(tx, keys, req, &manifest.sha256)? {
            return Ok(Some(existing));
        }
        rows::insert_with_thumbnail(
            tx,
            keys,
            &NewEvidence {
                id: &evidence_id,
                inspection_id: &req.inspection_id,
                item_id: req.item_id.as_deref(),
                finding_id: req.finding_id.as_deref(),
                parent_id: req.parent.as_deref(),
                kind: req.kind,
                media_type: sealed.media.mime(),
                size: sealed.size,
                sha256: &manifest.sha256,
                blob_id: &original_blob,
                thumbnail_blob_id: None,
                envelope: &envelope,
            },
            thumbnail.as_deref(),
        )?;
        crate::store::trail::append(tx, keys, &sealed_event(&manifest))?;
        cx.guard.on_sealed(tx, keys, &manifest)?;
        let deps: Vec<String> = req.parent.iter().cloned().collect();
        outbox::enqueue(tx, OutboxKind::Evidence, &evidence_id, &deps)?;
        Ok(None)
    })?;

    let outcome = match existing {
        // Same capture already sealed: drop this attempt's blobs, return the stored item.
        Some(existing) => {
            let manifest = existing_manifest(cx.store, &existing)?;
            let row = cx.store.read(|c, k| rows::get(c, k, &existing))?;
            let has_thumbnail = row.thumbnail_blob_id.is_some() || row.thumbnail_sealed;
            IngestOutcome {
                evidence_id: existing,
                manifest,
                has_thumbnail,
                already_sealed: true,
                source_removed: false,
            }
        }
        None => {
            blobs.ids.clear();
            IngestOutcome {
                evidence_id,
                manifest,
                has_thumbnail: thumbnail.is_some(),
                already_sealed: false,
                source_removed: false,
            }
        }
    };
    drop(blobs);
    let source_removed = remove_source(&req.source_path, &sealed.identity);
    Ok(IngestOutcome { source_removed, ..outcome })
}

/// Identity of the source file as opened, so removal never hits a file put there since.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SourceIdentity {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
    len: u64,
}

impl SourceIdentity {
    fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Self { dev: meta.dev(), ino: meta.ino(), len: meta.len() }
        }
        #[cfg(not(unix))]
        {
            Self { len: meta.len() }
        }
    }
}

struct SealedOriginal {
    sha256: String,
    size: u64,
    media: MediaType,
    identity: SourceIdentity,
    structure: StructureReport,
}

/// Step 1: stream the source into the vault, hashing as it goes. The blob is written in full but
/// not yet committed (the caller commits it).
fn seal_original(
    store: &Store,
    blob_id: &str,
    req: &IngestRequest,
    chunk_size: usize,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(IngestProgress),
) -> Result<(SealedOriginal, PendingBlob)> {
    let path = &req.source_path;
    // Never a plain open: a FIFO put where the camera's file should be would block here forever,
    // and a device such as /dev/zero never ends. `open_regular` opens without blocking and
    // refuses anything but a regular file, judged on the handle that is then read.
    let (mut file, total) =
        input_file::open_regular(path, None).map_err(|e| EvidenceError::opening(path, e))?;
    let meta = file.metadata().map_err(|e| EvidenceError::unreadable(path, e))?;
    let identity = SourceIdentity::of(&meta);
    if total > MAX_SOURCE_BYTES {
        return Err(EvidenceError::SourceTooLarge {
            path: path.display().to_string(),
            size: total,
            max: MAX_SOURCE_BYTES,
        }
        .into());
    }
    if total == 0 {
        return Err(EvidenceError::EmptyFile.into());
    }

    let chunk_size = chunk_size.max(SNIFF_LEN);
    let mut buf = vec![0u8; chunk_size];
    let first = read_full(&mut file, &mut buf).map_err(|e| EvidenceError::unreadable(path, e))?;
    let media = MediaType::sniff(&buf[..first])?;
    if !kind_accepts(req.kind, media) {
        return Err(EvidenceError::KindMismatch { kind: req.kind.code(), media: media.label() }.into());
    }
    buf.truncate(first);

    let pending = store.vault().begin(blob_id)?;
    // Padded (vault stream v2): the blob's length tells only the original's size class.
    let mut encryptor = StreamEncryptor::new_padded(&store.keys().stream, pending)?;
    let structure = StructureCheck::for_media(media);
    let step = (total / 100).clamp(1, 4 << 20);

    // SHA-256 (and the structure check) run on a second thread while this one encrypts and writes: the
    // two cost about the same, so on a two-core phone this nearly halves the CPU time. Chunks are
    // shared, not copied, and recycled, so memory stays at PIPELINE_DEPTH + 2 chunks.
    let (sha256, structure, done) = std::thread::scope(|scope| -> Result<(String, StructureCheck, u64)> {
        let (to_hasher, hasher_rx) = mpsc::sync_channel::<Arc<Vec<u8>>>(PIPELINE_DEPTH);
        let (return_tx, returned) = mpsc::channel::<Arc<Vec<u8>>>();
        let hasher = scope.spawn(move || {
            let mut sha = digest::Context::new(&digest::SHA256);
            let mut structure = structure;
            for chunk in hasher_rx {
                sha.update(&chunk);
                structure.feed(&chunk);
                // The reader may have finished; a chunk nobody takes back is simply freed.
                let _ = return_tx.send(chunk);
            }
            (hex(sha.finish().as_ref()), structure)
        });
        let hasher_gone = || EvidenceError::invalid("ingest", "the hashing thread stopped");
        let mut allocated = 1;
        let mut reported = 0u64;
        let mut done = 0u64;
        let mut next = buf;
        while !next.is_empty() {
            cancel.check()?;
            let chunk = Arc::new(next);
            to_hasher.send(Arc::clone(&chunk)).map_err(|_| hasher_gone())?;
            io::Write::write_all(&mut encryptor, &chunk).map_err(|e| EvidenceError::storage("vault", e))?;
            done += chunk.len() as u64;
            // A file still growing past the length it had when opened is not read forever.
            if done > total {
                return Err(source_changed(path, total, done).into());
            }
            if done - reported >= step || done == total {
                reported = done;
                progress(IngestProgress { done, total: total.max(done) });
            }
            drop(chunk);
            next = match returned.try_recv() {
                Ok(back) => Arc::try_unwrap(back).unwrap_or_default(),
                Err(_) if allocated < PIPELINE_DEPTH + 2 => {
                    allocated += 1;
                    Vec::new()
                }
                Err(_) => {
                    let back = returned.recv().map_err(|_| hasher_gone())?;
                    Arc::try_unwrap(back).unwrap_or_default()
                }
            };
            next.resize(chunk_size, 0);
            let n = read_full(&mut file, &mut next).map_err(|e| EvidenceError::unreadable(path, e))?;
            next.truncate(n);
        }
        drop(to_hasher);
        let (sha256, structure) = hasher.join().map_err(|_| hasher_gone())?;
        Ok((sha256, structure, done))
    })?;
    if done != total {
        return Err(source_changed(path, total, done).into());
    }
    // The path must still name the file we read: a camera app that replaced or deleted it means the
    // platform's idea of "this capture" is no longer these bytes.
    match std::fs::metadata(path) {
        Ok(now) if SourceIdentity::of(&now) == identity => {}
        _ => return Err(source_changed(path, total, done).into()),
    }
    let structure = structure.finish()?;
    let (pending, summary) = encryptor.finish().map_err(crypto_storage)?;
    debug_assert_eq!(summary.plaintext_len, done);
    Ok((SealedOriginal { sha256, size: done, media, identity, structure }, pending))
}

/// Step 3: EXIF and the preview from the sealed plaintext, read through `sealed` (the blob's file).
fn read_back(
    store: &Store,
    sealed: File,
    media: MediaType,
    size: u64,
) -> Result<(Option<ExifData>, Preview)> {
    if !media.may_have_exif() {
        return Ok((None, Preview::Unavailable));
    }
    // Each reader starts at the file's beginning: the clones share one offset.
    let open = || -> Result<StreamDecryptor<File>> {
        let mut file = sealed.try_clone().map_err(|e| EvidenceError::storage("vault", e))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| EvidenceError::storage("vault", e))?;
        Ok(StreamDecryptor::open(&store.keys().stream, file)?)
    };
    let exif = read_exif_from(open()?, media).map_err(io_to_error)?;
    let orientation = exif.as_ref().and_then(|e| e.summary.orientation);
    let embedded = exif.as_ref().and_then(|e| e.thumbnail.as_deref());
    let full = || open().ok().map(|d| (BufReader::with_capacity(64 * 1024, d), size));
    let preview = make_thumbnail_from(embedded, full, media, orientation);
    Ok((exif, preview))
}

#[allow(clippy::too_many_arguments)]
fn build_manifest(
    req: &IngestRequest,
    gate: &CaptureGate,
    policy: &IngestPolicy,
    evidence_id: &str,
    sealed: &SealedOriginal,
    exif: Option<&ExifData>,
    device_key_id: String,
    parent: Option<ParentRef>,
    thumbnail_sha256: Option<String>,
) -> EvidenceManifest {
    let clock = time::with_known_offset(&req.clock, policy.known_server_offset_ms);
    let capture_time = clock.wall_utc();
    let assessment =
        location::assess(req.location.as_ref(), gate.site.as_ref(), capture_time, &policy.location);
    let mut flags = assessment.flags;
    let summary = exif.map(|e| &e.summary);
    let exif_expected = req.kind == EvidenceKind::Photo && sealed.media.may_have_exif();
    flags.extend(time::check_times(&clock, summary, exif_expected, gate.checked_out_at, &policy.time));
    flags.extend(summary.map(|s| s.flags()).unwrap_or_default());
    if !sealed.structure.irregular.is_empty() {
        flags.push(CaptureFlag::MediaIrregular { details: sealed.structure.irregular.clone() });
    }
    let exif_point = summary.and_then(|s| s.comparable_position());
    if let (Some((point, error_m)), Some(fix)) = (exif_point, req.location.as_ref()) {
        flags.extend(location::exif_position_check(point, error_m, fix));
    }
    EvidenceManifest {
        statement: MANIFEST_TYPE.to_owned(),
        v: MANIFEST_VERSION,
        evidence_id: evidence_id.to_owned(),
        sha256: sealed.sha256.clone(),
        size: sealed.size,
        media_type: sealed.media,
        kind: req.kind,
        captured: clock,
        location: req.location.clone(),
        distance_to_site_m: assessment.distance_to_site_m,
        exif: summary.cloned(),
        movie: sealed.structure.movie.clone(),
        supports_presence: assessment.supports_presence,
        flags,
        device_key_id,
        operator: req.operator.clone(),
        inspection_id: req.inspection_id.clone(),
        item_id: req.item_id.clone(),
        finding_id: req.finding_id.clone(),
        parent,
        thumbnail_sha256,
        app_version: req.app_version.clone(),
        core_version: CORE_VERSION.to_owned(),
    }
}

fn sealed_event(m: &EvidenceManifest) -> DomainEvent {
    DomainEvent::new(
        format!("inspection:{}", m.inspection_id),
        "evidence.sealed",
        json!({
            "evidence_id": m.evidence_id,
            "sha256": m.sha256,
            "size": m.size,
            "media_type": m.media_type.mime(),
            "kind": m.kind.code(),
            "item_id": m.item_id,
            "finding_id": m.finding_id,
            "parent": m.parent.as_ref().map(|p| json!({"evidence_id": p.evidence_id, "sha256": p.sha256})),
            "flags": m.flag_codes(),
            "supports_presence": m.supports_presence,
            "device_key_id": m.device_key_id,
            "operator": m.operator,
        }),
    )
}

fn parent_ref(store: &Store, req: &IngestRequest, parent_id: &str, derivation: &str) -> Result<ParentRef> {
    let parent = store.read(|c, k| rows::get(c, k, parent_id))?;
    if parent.inspection_id != req.inspection_id {
        return Err(EvidenceError::invalid("parent", "the original belongs to another inspection").into());
    }
    let manifest = manifest_of(&parent.envelope)?;
    if preview::is_platform_preview(Some(derivation)) {
        preview::check_parent(manifest.media_type)?;
    }
    Ok(ParentRef { evidence_id: parent.id, sha256: manifest.sha256, derivation: derivation.to_owned() })
}

/// An existing item with the same bytes, inspection, links and parent.
fn same_capture(
    conn: &Connection,
    keys: &Keyring,
    req: &IngestRequest,
    sha256: &str,
) -> Result<Option<String>> {
    for id in rows::find_by_sha256(conn, keys, &req.inspection_id, sha256)? {
        let row = rows::get(conn, keys, &id)?;
        if row.item_id == req.item_id && row.finding_id == req.finding_id && row.parent_id == req.parent {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn existing_manifest(store: &Store, id: &str) -> Result<EvidenceManifest> {
    let row = store.read(|c, k| rows::get(c, k, id))?;
    manifest_of(&row.envelope)
}

/// The manifest inside an envelope (not verified here).
pub(crate) fn manifest_of(envelope: &SignedEnvelope) -> Result<EvidenceManifest> {
    serde_json::from_value(envelope.payload.clone())
        .map_err(|e| EvidenceError::verification(format!("manifest format ({e})")).into())
}

/// Removes the source if the path still names the file that was sealed. Never an error: the
/// evidence is sealed; a leftover plaintext copy is reported, not fatal.
fn remove_source(path: &Path, identity: &SourceIdentity) -> bool {
    match std::fs::metadata(path) {
        Ok(meta) if SourceIdentity::of(&meta) == *identity => std::fs::remove_file(path).is_ok(),
        _ => false,
    }
}

/// Fills `buf` unless the file ends first; returns the bytes read (0 at the end).
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn source_changed(path: &Path, expected: u64, read: u64) -> EvidenceError {
    EvidenceError::SourceChanged { path: path.display().to_string(), expected, read }
}

fn crypto_storage(e: CryptoError) -> crate::Error {
    match e {
        CryptoError::Io { path, source } => EvidenceError::Storage { path, source }.into(),
        other => other.into(),
    }
}

fn vault_storage(e: StoreError) -> crate::Error {
    match e {
        StoreError::VaultIo { path, source } => EvidenceError::storage(path, source).into(),
        other => other.into(),
    }
}

/// An I/O error reading a sealed blob back: a crypto failure surfaced through `Read` keeps its
/// meaning (integrity), anything else is storage.
fn io_to_error(e: io::Error) -> crate::Error {
    if e.get_ref().is_some_and(|inner| inner.is::<CryptoError>()) {
        let inner = e.into_inner().and_then(|b| b.downcast::<CryptoError>().ok());
        if let Some(crypto) = inner {
            return (*crypto).into();
        }
        return EvidenceError::verification("sealed blob").into();
    }
    EvidenceError::storage("vault", e).into()
}

/// Removes the listed blobs when dropped, unless the list was cleared: every early return after a
/// blob commit leaves nothing behind.
struct BlobCleanup<'a> {
    store: &'a Store,
    ids: Vec<String>,
}

impl Drop for BlobCleanup<'_> {
    fn drop(&mut self) {
        for id in &self.ids {
            // Best effort: a blob that cannot be removed now is an orphan the next sweep removes.
            let _ = self.store.vault().remove(id);
        }
    }
}

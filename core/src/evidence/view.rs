//! Evidence as screens show it: list and detail read models, and decrypted copies for viewing.
//!
//! Plaintext exists on disk only under `<data dir>/view/`, only while a screen shows it, and only
//! after its hash matched the signed manifest. A copy is a lease: [`release_view`] deletes it, and
//! [`clear_views`] (at app start, and whenever the app leaves the foreground) deletes them all.

use std::{
    fs,
    path::{Path, PathBuf},
};

use super::{
    CaptureFlag, EvidenceError, EvidenceKind, EvidenceManifest, GeoPoint, MediaType, ingest::manifest_of,
    location::wgs84_to_gcj02, verify,
};
use crate::{
    Result,
    crypto::{column::hex, stream::StreamDecryptor},
    id::new_id,
    private_file::{Existing, OwnerOnlyFile},
    store::{Store, evidence as rows, evidence::StoredEvidence, private_fs::private_dir},
};

/// The folder under the data directory that holds decrypted copies.
pub const VIEW_DIR: &str = "view";

/// One row of an inspection's evidence list.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EvidenceListItem {
    pub evidence_id: String,
    pub item_id: Option<String>,
    pub finding_id: Option<String>,
    pub parent_id: Option<String>,
    pub kind: EvidenceKind,
    pub media_type: MediaType,
    pub size: u64,
    /// Device wall clock at capture, RFC 3339 with the device's offset.
    pub captured_at: String,
    pub flags: Vec<CaptureFlag>,
    pub supports_presence: bool,
    /// The thumbnail decrypted under `view/` (reused while it matches its signed hash).
    pub thumbnail_path: Option<PathBuf>,
}

/// Everything known about one item, for its detail screen.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EvidenceDetail {
    pub item: EvidenceListItem,
    pub manifest: EvidenceManifest,
    /// The signed envelope as stored (canonical JSON), for export and inspection.
    pub envelope_json: String,
    /// The platform fix in GCJ-02, for drawing on Chinese maps only (WGS-84 is what is stored).
    pub map_position_gcj02: Option<GeoPoint>,
}

/// A decrypted copy for viewing. Delete it with [`release_view`] when the screen closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewFile {
    pub path: PathBuf,
    pub media_type: MediaType,
}

/// 证据列表 — an inspection's evidence in capture order. An item that does not open (its row, its
/// manifest or its thumbnail is unreadable) is skipped and named here instead of failing the whole
/// list; the item's own screen and `verify` then say what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EvidenceList {
    pub items: Vec<EvidenceListItem>,
    /// How many items did not open.
    pub skipped: u64,
    /// Their evidence ids (nothing else is readable of them).
    pub skipped_ids: Vec<String>,
}

/// An inspection's evidence in capture order, thumbnails decrypted for display; unreadable items
/// are skipped and named (see [`EvidenceList`]).
pub fn evidence_list(store: &Store, inspection_id: &str) -> Result<EvidenceList> {
    let (rows, mut skipped_ids) =
        store.read(|conn, keys| rows::list_readable_for_inspection(conn, keys, inspection_id))?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        match manifest_of(&row.envelope).and_then(|manifest| list_item(store, row, &manifest)) {
            Ok(item) => items.push(item),
            Err(_) => skipped_ids.push(row.id.clone()),
        }
    }
    Ok(EvidenceList { items, skipped: skipped_ids.len() as u64, skipped_ids })
}

/// The readable part of [`evidence_list`].
pub fn list_for_inspection(store: &Store, inspection_id: &str) -> Result<Vec<EvidenceListItem>> {
    Ok(evidence_list(store, inspection_id)?.items)
}

pub fn detail(store: &Store, evidence_id: &str) -> Result<EvidenceDetail> {
    let row = store.read(|conn, keys| rows::get(conn, keys, evidence_id))?;
    let manifest = manifest_of(&row.envelope)?;
    Ok(EvidenceDetail {
        item: list_item(store, &row, &manifest)?,
        envelope_json: row.envelope.to_json_string()?,
        map_position_gcj02: manifest.location.as_ref().map(|f| wgs84_to_gcj02(f.point())),
        manifest,
    })
}

fn list_item(store: &Store, row: &StoredEvidence, manifest: &EvidenceManifest) -> Result<EvidenceListItem> {
    let media_type = MediaType::from_mime(&row.media_type)
        .ok_or_else(|| EvidenceError::verification(format!("media type of {}", row.id)))?;
    Ok(EvidenceListItem {
        evidence_id: row.id.clone(),
        item_id: row.item_id.clone(),
        finding_id: row.finding_id.clone(),
        parent_id: row.parent_id.clone(),
        kind: row.kind,
        media_type,
        // The exact size from the signed manifest: the row holds only its size class.
        size: manifest.size,
        captured_at: manifest.captured.wall_clock.to_rfc3339(),
        flags: manifest.flags.clone(),
        supports_presence: manifest.supports_presence,
        thumbnail_path: thumbnail_or_platform_preview(store, row, manifest)?,
    })
}

/// The item's own thumbnail; for a HEIC/HEIF/AVIF original without one, the thumbnail of its
/// platform preview (a derivative naming it as parent; docs/decisions/0005-heic-previews.md).
fn thumbnail_or_platform_preview(
    store: &Store,
    row: &StoredEvidence,
    manifest: &EvidenceManifest,
) -> Result<Option<PathBuf>> {
    if let Some(path) = thumbnail_file(store, row, manifest)? {
        return Ok(Some(path));
    }
    if !manifest.media_type.is_heif() {
        return Ok(None);
    }
    let siblings = store.read(|conn, keys| rows::list_for_inspection(conn, keys, &row.inspection_id))?;
    for child in siblings.iter().filter(|c| c.parent_id.as_deref() == Some(row.id.as_str())) {
        let child_manifest = manifest_of(&child.envelope)?;
        let declared = child_manifest.parent.as_ref().map(|p| p.derivation.as_str());
        if super::preview::is_platform_preview(declared) {
            if let Some(path) = thumbnail_file(store, child, &child_manifest)? {
                return Ok(Some(path));
            }
        }
    }
    Ok(None)
}

/// Decrypts the original to a fresh file under `view/`, checking its hash against the manifest
/// as it goes; a blob that fails leaves no file behind.
pub fn open_for_viewing(store: &Store, evidence_id: &str) -> Result<ViewFile> {
    let row = store.read(|conn, keys| rows::get(conn, keys, evidence_id))?;
    let manifest = manifest_of(&row.envelope)?;
    let path = view_dir(store).join(format!("{}.{}", new_id()?, manifest.media_type.extension()));
    decrypt_checked(store, &row.blob_id, &path, Existing::Keep, &manifest.sha256)?;
    Ok(ViewFile { path, media_type: manifest.media_type })
}

/// The item's thumbnail as a JPEG file under `view/`, or `None` when it has none.
pub fn thumbnail_for_viewing(store: &Store, evidence_id: &str) -> Result<Option<ViewFile>> {
    let row = store.read(|conn, keys| rows::get(conn, keys, evidence_id))?;
    let manifest = manifest_of(&row.envelope)?;
    let path = thumbnail_or_platform_preview(store, &row, &manifest)?;
    Ok(path.map(|path| ViewFile { path, media_type: MediaType::Jpeg }))
}

/// Thumbnails get a stable name so list screens reuse them; a file already there is reused only
/// while its bytes still hash to the signed value, otherwise it is decrypted afresh.
fn thumbnail_file(
    store: &Store,
    row: &StoredEvidence,
    manifest: &EvidenceManifest,
) -> Result<Option<PathBuf>> {
    let Some(sha) = &manifest.thumbnail_sha256 else { return Ok(None) };
    if row.thumbnail_blob_id.is_none() && !row.thumbnail_sealed {
        return Ok(None);
    }
    let path = view_dir(store).join(format!("thumb_{}.jpg", row.id));
    if let Ok(existing) = fs::read(&path)
        && &hex(ring::digest::digest(&ring::digest::SHA256, &existing).as_ref()) == sha
    {
        return Ok(Some(path));
    }
    match &row.thumbnail_blob_id {
        // Items sealed before migration 10 keep their thumbnail in its own vault blob.
        Some(blob) => decrypt_checked(store, blob, &path, Existing::Replace, sha)?,
        None => {
            let bytes = store
                .read(|conn, keys| rows::thumbnail(conn, keys, &row.id))?
                .ok_or_else(|| EvidenceError::verification("thumbnail"))?;
            if &hex(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref()) != sha {
                return Err(EvidenceError::verification("thumbnail hash").into());
            }
            write_view_copy(store, &path, &bytes)?;
        }
    }
    Ok(Some(path))
}

/// Writes checked plaintext `bytes` as a viewing copy through the owner-only writer, without the
/// durable fsyncs: a viewing copy is a disposable cache (see [`OwnerOnlyFile::commit_disposable`]).
fn write_view_copy(store: &Store, path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = view_dir(store);
    // Viewing copies are plaintext: their folder is owner-only like the rest of the store.
    private_dir(&dir).map_err(|e| EvidenceError::storage(&dir, e))?;
    let mut out = OwnerOnlyFile::create(path).map_err(|e| EvidenceError::storage(path, e))?;
    std::io::Write::write_all(&mut out, bytes).map_err(|e| EvidenceError::storage(path, e))?;
    out.commit_disposable(Existing::Replace).map_err(|e| EvidenceError::storage(path, e).into())
}

/// Deletes one viewing copy. Refuses paths outside `view/`, so a caller bug cannot delete evidence.
pub fn release_view(store: &Store, path: &Path) -> Result<()> {
    let dir = view_dir(store);
    let inside = path.parent().is_some_and(|p| p == dir) && path.file_name().is_some();
    if !inside {
        return Err(EvidenceError::invalid("path", "not a viewing copy").into());
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(EvidenceError::storage(path, e).into()),
    }
}

/// Deletes every viewing copy. Returns how many there were.
pub fn clear_views(store: &Store) -> Result<usize> {
    let dir = view_dir(store);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(EvidenceError::storage(&dir, e).into()),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry.map_err(|e| EvidenceError::storage(&dir, e))?.path();
        fs::remove_file(&path).map_err(|e| EvidenceError::storage(&path, e))?;
        removed += 1;
    }
    Ok(removed)
}

fn view_dir(store: &Store) -> PathBuf {
    store.dir().join(VIEW_DIR)
}

/// Decrypts a blob to `path` through the owner-only writer: the copy appears under its name only
/// once every byte decrypted and hashed to `expected_sha256`; a blob that fails leaves nothing.
/// Not fsynced: a viewing copy is a disposable cache.
fn decrypt_checked(
    store: &Store,
    blob_id: &str,
    path: &Path,
    existing: Existing,
    expected_sha256: &str,
) -> Result<()> {
    let dir = view_dir(store);
    // Viewing copies are plaintext: their folder is owner-only like the rest of the store.
    private_dir(&dir).map_err(|e| EvidenceError::storage(&dir, e))?;
    let file = store.vault().open_blob(blob_id)?;
    let mut decryptor = StreamDecryptor::open(&store.keys().stream, file)?;
    let out = OwnerOnlyFile::create(path).map_err(|e| EvidenceError::storage(path, e))?;
    let mut writer = verify::HashingWriter::new(std::io::BufWriter::with_capacity(256 * 1024, out));
    decryptor.decrypt_to(&mut writer)?;
    let (out, sha) = writer.finish();
    let out = out.into_inner().map_err(|e| EvidenceError::storage(path, e.into_error()))?;
    if sha != expected_sha256 {
        return Err(EvidenceError::verification("content hash").into());
    }
    // Disposable like every viewing copy: no fsync (see `write_view_copy`).
    out.commit_disposable(existing).map_err(|e| EvidenceError::storage(path, e).into())
}

//! 证据校验 — re-checking a stored item end to end.
//!
//! An item verifies when: its sealed manifest opens under its own row id (column AEAD); the
//! envelope's ES256 signature verifies under the device's public key; the manifest is of a
//! supported format version and says only what its version can; the manifest names this row
//! (id, inspection, links, kind, media type, size) and the key that signed it; the vault blob
//! decrypts segment by segment (stream AEAD) to bytes whose length and SHA-256 are the manifest's;
//! and the thumbnail, if any (sealed in the row, or in its own blob for older items), opens to the
//! bytes whose hash the manifest names. The AEAD alone
//! would not catch a blob swapped for another item's (both decrypt under the vault key); the
//! signed hash does.

use std::io::{self, Write};

use ring::digest;

use super::{EvidenceError, EvidenceManifest, ingest::manifest_of};
use crate::{
    Result,
    crypto::{
        column::hex,
        padding::{self, BLOB_FLOOR},
        stream::StreamDecryptor,
    },
    store::{Store, evidence as rows},
};

/// A verified item: its manifest is now trustworthy.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VerifiedEvidence {
    pub evidence_id: String,
    pub manifest: EvidenceManifest,
}

/// Verifies item `evidence_id` against the device public key (65-byte SEC1) it was signed with.
pub fn verify_item(store: &Store, evidence_id: &str, public_key: &[u8]) -> Result<VerifiedEvidence> {
    let row = store.read(|conn, keys| rows::get(conn, keys, evidence_id))?;
    row.envelope.verify(public_key)?;
    let manifest = manifest_of(&row.envelope)?;
    if let Err(reason) = manifest.check_format() {
        return Err(EvidenceError::verification(format!("manifest format ({reason})")).into());
    }
    let bound = manifest.device_key_id == row.envelope.key_id
        && manifest.evidence_id == row.id
        && manifest.inspection_id == row.inspection_id
        && manifest.item_id == row.item_id
        && manifest.finding_id == row.finding_id
        && manifest.parent.as_ref().map(|p| &p.evidence_id) == row.parent_id.as_ref()
        && manifest.kind == row.kind
        && manifest.media_type.mime() == row.media_type
        // Rows since migration 10 hold the size class; older rows the exact length.
        && (row.size_class == padding::size_class(manifest.size, BLOB_FLOOR) || row.size_class == manifest.size)
        && manifest.thumbnail_sha256.is_some() == (row.thumbnail_blob_id.is_some() || row.thumbnail_sealed);
    if !bound {
        return Err(EvidenceError::verification("manifest binding").into());
    }

    let (len, sha256) = hash_blob(store, &row.blob_id)?;
    if len != manifest.size || sha256 != manifest.sha256 {
        return Err(EvidenceError::verification("content hash").into());
    }
    if let Some(expected) = &manifest.thumbnail_sha256 {
        let sha256 = match &row.thumbnail_blob_id {
            Some(blob) => hash_blob(store, blob)?.1,
            None => {
                let bytes = store
                    .read(|conn, keys| rows::thumbnail(conn, keys, &row.id))?
                    .ok_or_else(|| EvidenceError::verification("thumbnail"))?;
                hex(digest::digest(&digest::SHA256, &bytes).as_ref())
            }
        };
        if &sha256 != expected {
            return Err(EvidenceError::verification("thumbnail hash").into());
        }
    }
    Ok(VerifiedEvidence { evidence_id: row.id, manifest })
}

/// Decrypts a whole vault blob, verifying every segment, and hashes the plaintext. Memory: one
/// segment.
pub(crate) fn hash_blob(store: &Store, blob_id: &str) -> Result<(u64, String)> {
    let file = store.vault().open_blob(blob_id)?;
    let mut decryptor = StreamDecryptor::open(&store.keys().stream, file)?;
    let mut sink = HashingWriter::new(io::sink());
    let len = decryptor.decrypt_to(&mut sink)?;
    Ok((len, sink.finish().1))
}

/// Passes bytes through to `inner` while hashing them with SHA-256.
pub(crate) struct HashingWriter<W> {
    inner: W,
    sha: digest::Context,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self { inner, sha: digest::Context::new(&digest::SHA256) }
    }

    pub(crate) fn finish(self) -> (W, String) {
        (self.inner, hex(self.sha.finish().as_ref()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

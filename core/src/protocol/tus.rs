//! tus 1.0 — the resumable upload protocol blobs travel by (<https://tus.io/protocols/resumable-upload>).
//!
//! Intake implements the core protocol with the `creation` and `checksum` extensions, so any standard
//! tus client can upload. The constants here are what both sides must agree on; the metadata codec
//! follows the spec: `key base64(value)` pairs (standard base64 with padding), comma-separated.

/// The protocol version intake speaks (`Tus-Resumable`, `Tus-Version`).
pub const TUS_VERSION: &str = "1.0.0";
/// The extensions intake supports (`Tus-Extension`).
pub const TUS_EXTENSIONS: &str = "creation,checksum";
/// Chunk checksum algorithms intake accepts in `Upload-Checksum` (`Tus-Checksum-Algorithm`). A chunk
/// checksum is only a transfer check — it lets intake refuse one damaged chunk instead of the whole
/// upload at its end — so CRC-32 (what fieldseal sends: tusd's `crc32`, big-endian) serves, and
/// SHA-1 is accepted because common clients send it. Content is always identified, and verified
/// before it is stored, by the SHA-256 of the whole blob.
pub const TUS_CHECKSUM_ALGORITHMS: &str = "crc32,sha256,sha1";
/// The chunk checksum the sync client sends: a CRC-32 runs at memory speed, where a SHA-256 per
/// chunk on both ends came to most of an upload's processor time beside the whole-blob SHA-256.
pub const CHUNK_CHECKSUM: &str = "crc32";
/// The content type of a PATCH body.
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// The status a PATCH is refused with when its `Upload-Checksum` does not match the body.
pub const STATUS_CHECKSUM_MISMATCH: u16 = 460;

pub const HEADER_TUS_RESUMABLE: &str = "tus-resumable";
pub const HEADER_UPLOAD_LENGTH: &str = "upload-length";
pub const HEADER_UPLOAD_OFFSET: &str = "upload-offset";
pub const HEADER_UPLOAD_METADATA: &str = "upload-metadata";
pub const HEADER_UPLOAD_CHECKSUM: &str = "upload-checksum";
/// Set by intake on the final PATCH: the SHA-256 of the whole blob as stored.
pub const HEADER_BLOB_SHA256: &str = "fieldseal-blob-sha256";

/// The metadata key that declares the blob's SHA-256 (lowercase hex). Required: intake verifies the
/// assembled blob against it before it keeps anything.
pub const METADATA_SHA256: &str = "sha256";
/// Optional metadata: the evidence the blob belongs to.
pub const METADATA_EVIDENCE_ID: &str = "evidence_id";

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `Upload-Metadata` from key/value pairs.
pub fn encode_metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(
            |(k, v)| {
                if v.is_empty() { (*k).to_owned() } else { format!("{k} {}", base64_standard(v.as_bytes())) }
            },
        )
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `Upload-Metadata`. Keys must be non-empty ASCII without spaces or commas and unique;
/// values must be valid padded base64 of UTF-8 text.
pub fn parse_metadata(header: &str) -> Result<Vec<(String, String)>, &'static str> {
    let mut out: Vec<(String, String)> = Vec::new();
    if header.trim().is_empty() {
        return Ok(out);
    }
    for pair in header.split(',') {
        let pair = pair.trim();
        let (key, value) = match pair.split_once(' ') {
            Some((k, v)) => (k, v.trim()),
            None => (pair, ""),
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err("metadata key is empty or not printable ASCII");
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err("duplicate metadata key");
        }
        let bytes = unbase64_standard(value).ok_or("metadata value is not base64")?;
        let text = String::from_utf8(bytes).map_err(|_| "metadata value is not UTF-8")?;
        out.push((key.to_owned(), text));
    }
    Ok(out)
}

fn base64_standard(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(STANDARD[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64_standard(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (index, chunk) in bytes.chunks(4).enumerate() {
        let last = index == bytes.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk[..4 - pad].iter().enumerate() {
            let v = STANDARD.iter().position(|s| s == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

/// Decodes the base64 digest of an `Upload-Checksum` header (`<algorithm> <base64>`); `None` for a
/// header without a digest, which could never match a chunk and is a malformed request, not a
/// damaged chunk.
pub fn parse_checksum(header: &str) -> Option<(String, Vec<u8>)> {
    let (algorithm, value) = header.trim().split_once(' ')?;
    let digest = unbase64_standard(value.trim())?;
    (!algorithm.is_empty() && !digest.is_empty()).then(|| (algorithm.to_ascii_lowercase(), digest))
}

/// Encodes an `Upload-Checksum` header value.
pub fn encode_checksum(algorithm: &str, digest: &[u8]) -> String {
    format!("{algorithm} {}", base64_standard(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checksum_header_without_a_digest_or_an_algorithm_is_malformed() {
        assert_eq!(parse_checksum("crc32 AAAAAA=="), Some(("crc32".into(), vec![0, 0, 0, 0])));
        for header in ["sha256", "sha256 ", "sha256  =", "sha256 \t ", " AAAAAA==", "sha256 ===="] {
            assert_eq!(parse_checksum(header), None, "{header:?}");
        }
    }

    #[test]
    fn metadata_round_trips_as_the_spec_writes_it() {
        // The spec's example: filename "world_domination_plan.pdf", is_confidential without a value.
        let header = "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential";
        let parsed = parse_metadata(header).unwrap();
        assert_eq!(
            parsed,
            vec![
                ("filename".to_owned(), "world_domination_plan.pdf".to_owned()),
                ("is_confidential".to_owned(), String::new())
            ]
        );
        assert_eq!(
            encode_metadata(&[("filename", "world_domination_plan.pdf"), ("is_confidential", "")]),
            header
        );
        let chinese = encode_metadata(&[("sha256", &"ab".repeat(32)), ("evidence_id", "排污口")]);
        assert_eq!(parse_metadata(&chinese).unwrap()[1].1, "排污口");
    }

    #[test]
    fn malformed_metadata_is_refused() {
        for bad in ["a b c", "a !!!!", "a YQ==,a YQ==", ",a YQ==", "a YQ=a", "a YQ"] {
            assert!(parse_metadata(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checksum_header_round_trips() {
        let digest = [7u8; 32];
        let header = encode_checksum("sha256", &digest);
        assert_eq!(parse_checksum(&header), Some(("sha256".to_owned(), digest.to_vec())));
        assert_eq!(parse_checksum("sha256"), None);
    }
}

//! What a file is, decided by its first bytes (magic numbers), never by its name or by the caller.
//!
//! The structure checks that run on the same chunks that are hashed live beside this module
//! (`jpeg`, `png`, `isobmff`, dispatched by `structure`).

use serde::{Deserialize, Serialize};

use super::EvidenceError;
pub use super::jpeg::JpegStructure;
use crate::checklist::EvidenceKind;

/// How many leading bytes [`MediaType::sniff`] needs to decide every type it knows.
pub const SNIFF_LEN: usize = 64;

/// A media type recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MediaType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    /// HEIF holding HEVC-coded images (the iPhone default, many Android phones).
    #[serde(rename = "image/heic")]
    Heic,
    /// HEIF with no codec-specific brand (`mif1`/`msf1` only).
    #[serde(rename = "image/heif")]
    Heif,
    /// HEIF holding AV1-coded images.
    #[serde(rename = "image/avif")]
    Avif,
    #[serde(rename = "video/mp4")]
    Mp4,
    #[serde(rename = "video/quicktime")]
    Mov,
    #[serde(rename = "video/3gpp")]
    ThreeGp,
    #[serde(rename = "audio/mp4")]
    M4a,
    #[serde(rename = "audio/aac")]
    Aac,
    #[serde(rename = "audio/amr")]
    Amr,
    #[serde(rename = "audio/wav")]
    Wav,
    #[serde(rename = "audio/mpeg")]
    Mp3,
    #[serde(rename = "application/pdf")]
    Pdf,
}

/// Whether `media` can be evidence of `kind` (the checklist's 证据类别). Lenient where phones are:
/// a recorder may write audio-only MP4 or 3GP, and a document scan or exported data is often an
/// image or a PDF.
pub fn kind_accepts(kind: EvidenceKind, media: MediaType) -> bool {
    use MediaType::*;
    match kind {
        EvidenceKind::Photo => matches!(media, Jpeg | Png | Heic | Heif | Avif),
        EvidenceKind::Video => matches!(media, Mp4 | Mov | ThreeGp),
        EvidenceKind::Audio => matches!(media, M4a | Aac | Amr | Wav | Mp3 | Mp4 | ThreeGp),
        EvidenceKind::Document | EvidenceKind::Data => {
            matches!(media, Pdf | Jpeg | Png | Heic | Heif | Avif)
        }
    }
}

/// ISO-BMFF brands, by what they tell us about the content. HEVC-coded HEIF (images and
/// sequences) is HEIC; AV1-coded is AVIF; the structural brands alone say only "HEIF".
const HEIC_BRANDS: &[&[u8; 4]] = &[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"];
const AVIF_BRANDS: &[&[u8; 4]] = &[b"avif", b"avis", b"avio"];
const HEIF_BRANDS: &[&[u8; 4]] = &[b"mif1", b"msf1", b"mif2", b"miaf"];
const AUDIO_MP4_BRANDS: &[&[u8; 4]] = &[b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "];
const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"MSNV",
    b"mmp4", b"M4V ", b"M4VH", b"M4VP", b"NDAS", b"f4v ", b"XAVC",
];
/// Top-level atoms an old QuickTime file may start with when it has no `ftyp`.
const QT_ATOMS: &[&[u8; 4]] = &[b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"];

impl MediaType {
    /// Decides the type from the first bytes of a file (at least [`SNIFF_LEN`] when available).
    pub fn sniff(head: &[u8]) -> Result<MediaType, EvidenceError> {
        if head.is_empty() {
            return Err(EvidenceError::EmptyFile);
        }
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Ok(MediaType::Jpeg);
        }
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Ok(MediaType::Png);
        }
        if head.len() >= 12 && &head[4..8] == b"ftyp" {
            return Self::sniff_ftyp(head);
        }
        if head.len() >= 8 && QT_ATOMS.iter().any(|a| &head[4..8] == *a) {
            return Ok(MediaType::Mov);
        }
        if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WAVE" {
            return Ok(MediaType::Wav);
        }
        if head.starts_with(b"#!AMR") {
            return Ok(MediaType::Amr);
        }
        if head.starts_with(b"%PDF-") {
            return Ok(MediaType::Pdf);
        }
        if head.starts_with(b"ID3") {
            return Ok(MediaType::Mp3);
        }
        if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
            let layer = (head[1] >> 1) & 0b11;
            // 12 sync bits with layer 00 is AAC's ADTS header; MPEG audio layers I–III are 01..11.
            if head[1] & 0xF0 == 0xF0 && layer == 0 {
                return Ok(MediaType::Aac);
            }
            let version = (head[1] >> 3) & 0b11;
            if layer != 0 && version != 0b01 {
                return Ok(MediaType::Mp3);
            }
        }
        Err(EvidenceError::UnsupportedMedia(describe_unknown(head)))
    }

    fn sniff_ftyp(head: &[u8]) -> Result<MediaType, EvidenceError> {
        let box_len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let end = box_len.clamp(12, head.len());
        let major: &[u8] = &head[8..12];
        // Compatible brands follow the 4-byte minor version.
        let compatible: Vec<&[u8]> = head.get(16..end).unwrap_or(&[]).chunks_exact(4).collect();
        let is = |brand: &[u8], set: &[&[u8; 4]]| set.iter().any(|b| brand == *b);
        let classify = |brand: &[u8]| {
            if is(brand, AVIF_BRANDS) {
                Some(MediaType::Avif)
            } else if is(brand, HEIC_BRANDS) {
                Some(MediaType::Heic)
            } else if is(brand, AUDIO_MP4_BRANDS) {
                Some(MediaType::M4a)
            } else if brand.starts_with(b"3gp") || brand.starts_with(b"3g2") || brand.starts_with(b"3ge") {
                Some(MediaType::ThreeGp)
            } else if brand == b"qt  " {
                Some(MediaType::Mov)
            } else {
                None
            }
        };
        // The major brand says what the file is when it is specific; a generic major brand
        // (`mif1`, `isom`) defers to the compatible brands, where the codec brand is listed.
        if let Some(media) = classify(major) {
            return Ok(media);
        }
        let image_first = is(major, HEIF_BRANDS);
        let mut found = None;
        for brand in &compatible {
            match classify(brand) {
                Some(m @ (MediaType::Avif | MediaType::Heic)) => return Ok(m),
                Some(m) if found.is_none() && !image_first => found = Some(m),
                _ => {}
            }
        }
        if image_first || (found.is_none() && compatible.iter().any(|b| is(b, HEIF_BRANDS))) {
            return Ok(MediaType::Heif);
        }
        if let Some(media) = found {
            return Ok(media);
        }
        if is(major, MP4_BRANDS) || compatible.iter().any(|b| is(b, MP4_BRANDS)) {
            return Ok(MediaType::Mp4);
        }
        Err(EvidenceError::UnsupportedMedia(format!("ISO media with brand {}", printable(major))))
    }

    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Heic => "image/heic",
            MediaType::Heif => "image/heif",
            MediaType::Avif => "image/avif",
            MediaType::Mp4 => "video/mp4",
            MediaType::Mov => "video/quicktime",
            MediaType::ThreeGp => "video/3gpp",
            MediaType::M4a => "audio/mp4",
            MediaType::Aac => "audio/aac",
            MediaType::Amr => "audio/amr",
            MediaType::Wav => "audio/wav",
            MediaType::Mp3 => "audio/mpeg",
            MediaType::Pdf => "application/pdf",
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        ALL.iter().copied().find(|m| m.mime() == mime)
    }

    /// The file name extension of this media (`heic`, `avif`, `3gp`, …): an exported bundle's
    /// original is named with it, so a reviewer's tools open it as what it is.
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Jpeg => "jpg",
            MediaType::Png => "png",
            MediaType::Heic => "heic",
            MediaType::Heif => "heif",
            MediaType::Avif => "avif",
            MediaType::Mp4 => "mp4",
            MediaType::Mov => "mov",
            MediaType::ThreeGp => "3gp",
            MediaType::M4a => "m4a",
            MediaType::Aac => "aac",
            MediaType::Amr => "amr",
            MediaType::Wav => "wav",
            MediaType::Mp3 => "mp3",
            MediaType::Pdf => "pdf",
        }
    }

    /// A short human name for messages ("JPEG").
    pub fn label(self) -> &'static str {
        match self {
            MediaType::Jpeg => "JPEG",
            MediaType::Png => "PNG",
            MediaType::Heic => "HEIC",
            MediaType::Heif => "HEIF",
            MediaType::Avif => "AVIF",
            MediaType::Mp4 => "MP4",
            MediaType::Mov => "MOV",
            MediaType::ThreeGp => "3GP",
            MediaType::M4a => "M4A",
            MediaType::Aac => "AAC",
            MediaType::Amr => "AMR",
            MediaType::Wav => "WAV",
            MediaType::Mp3 => "MP3",
            MediaType::Pdf => "PDF",
        }
    }

    /// Whether EXIF can be present (and is looked for).
    pub fn may_have_exif(self) -> bool {
        matches!(self, MediaType::Jpeg | MediaType::Png | MediaType::Heic | MediaType::Heif | MediaType::Avif)
    }

    /// HEIF in any coding (HEIC, AVIF, plain HEIF): items located by `iloc` inside `meta`.
    pub fn is_heif(self) -> bool {
        matches!(self, MediaType::Heic | MediaType::Heif | MediaType::Avif)
    }

    /// A movie-structured ISO-BMFF / QuickTime file: samples located by a `moov` box.
    pub fn is_movie(self) -> bool {
        matches!(self, MediaType::Mp4 | MediaType::Mov | MediaType::ThreeGp | MediaType::M4a)
    }
}

const ALL: [MediaType; 14] = [
    MediaType::Jpeg,
    MediaType::Png,
    MediaType::Heic,
    MediaType::Heif,
    MediaType::Avif,
    MediaType::Mp4,
    MediaType::Mov,
    MediaType::ThreeGp,
    MediaType::M4a,
    MediaType::Aac,
    MediaType::Amr,
    MediaType::Wav,
    MediaType::Mp3,
    MediaType::Pdf,
];

/// Describes unknown leading bytes by their hex, never their text: they could be evidence content.
fn describe_unknown(head: &[u8]) -> String {
    let n = head.len().min(4);
    format!("unknown signature {}", crate::crypto::column::hex(&head[..n]))
}

fn printable(brand: &[u8]) -> String {
    brand.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ftyp(major: &[u8; 4], compat: &[&[u8; 4]]) -> Vec<u8> {
        let len = 16 + 4 * compat.len();
        let mut v = (len as u32).to_be_bytes().to_vec();
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(major);
        v.extend_from_slice(&[0, 0, 0, 0]);
        for c in compat {
            v.extend_from_slice(*c);
        }
        v.extend_from_slice(&[0u8; 32]);
        v
    }

    #[test]
    fn each_supported_type_is_recognised_by_its_magic_bytes() {
        let cases: Vec<(Vec<u8>, MediaType)> = vec![
            (vec![0xFF, 0xD8, 0xFF, 0xE1, 0, 0], MediaType::Jpeg),
            (b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec(), MediaType::Png),
            (ftyp(b"heic", &[b"mif1", b"heic"]), MediaType::Heic),
            (ftyp(b"mif1", &[b"heic"]), MediaType::Heic),
            (ftyp(b"avif", &[b"avif", b"mif1", b"miaf"]), MediaType::Avif),
            (ftyp(b"mif1", &[b"mif1", b"miaf", b"avif"]), MediaType::Avif),
            (ftyp(b"avis", &[b"avis", b"msf1"]), MediaType::Avif),
            (ftyp(b"mif1", &[b"mif1"]), MediaType::Heif),
            (ftyp(b"msf1", &[b"iso8", b"msf1"]), MediaType::Heif),
            (ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"]), MediaType::Mp4),
            (ftyp(b"mp42", &[b"isom"]), MediaType::Mp4),
            (ftyp(b"qt  ", &[b"qt  "]), MediaType::Mov),
            (b"\0\0\0\x08wide\0\0\0\0mdat".to_vec(), MediaType::Mov),
            (ftyp(b"3gp4", &[b"isom", b"3gp4"]), MediaType::ThreeGp),
            (ftyp(b"M4A ", &[b"M4A ", b"mp42", b"isom"]), MediaType::M4a),
            (vec![0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC], MediaType::Aac),
            (b"#!AMR\n\x3c".to_vec(), MediaType::Amr),
            (b"#!AMR-WB\n".to_vec(), MediaType::Amr),
            (b"RIFF\x24\0\0\0WAVEfmt ".to_vec(), MediaType::Wav),
            (b"ID3\x04\0\0\0\0\0\0".to_vec(), MediaType::Mp3),
            (vec![0xFF, 0xFB, 0x90, 0x64], MediaType::Mp3),
            (b"%PDF-1.7\n".to_vec(), MediaType::Pdf),
        ];
        for (bytes, expected) in cases {
            assert_eq!(MediaType::sniff(&bytes).unwrap(), expected, "{bytes:02x?}");
            assert_eq!(MediaType::from_mime(expected.mime()), Some(expected));
        }
    }

    #[test]
    fn unknown_bytes_are_a_typed_error_naming_only_hex() {
        match MediaType::sniff(b"Hello, this is a text file") {
            Err(EvidenceError::UnsupportedMedia(why)) => {
                assert_eq!(why, "unknown signature 48656c6c");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(MediaType::sniff(&[]), Err(EvidenceError::EmptyFile)));
        assert!(matches!(
            MediaType::sniff(&ftyp(b"crx ", &[b"crx "])),
            Err(EvidenceError::UnsupportedMedia(_))
        ));
    }

    #[test]
    fn kinds_accept_only_fitting_media() {
        assert!(kind_accepts(EvidenceKind::Photo, MediaType::Jpeg));
        assert!(!kind_accepts(EvidenceKind::Photo, MediaType::Wav));
        assert!(!kind_accepts(EvidenceKind::Video, MediaType::Jpeg));
        assert!(kind_accepts(EvidenceKind::Audio, MediaType::ThreeGp));
        assert!(kind_accepts(EvidenceKind::Document, MediaType::Pdf));
    }

    proptest! {
        #[test]
        fn sniffing_never_panics(data in prop::collection::vec(any::<u8>(), 0..80)) {
            let _ = MediaType::sniff(&data);
        }
    }
}

//! What a file is, decided by its first bytes (magic numbers), never by its name or by the caller.
//!
//! Also a streaming structure check for JPEG, fed the same chunks that are hashed, so a photo the
//! camera had not finished writing is refused instead of sealed as evidence.

use serde::{Deserialize, Serialize};

use super::EvidenceError;
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
    #[serde(rename = "image/heic")]
    Heic,
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
        EvidenceKind::Photo => matches!(media, Jpeg | Png | Heic),
        EvidenceKind::Video => matches!(media, Mp4 | Mov | ThreeGp),
        EvidenceKind::Audio => matches!(media, M4a | Aac | Amr | Wav | Mp3 | Mp4 | ThreeGp),
        EvidenceKind::Document | EvidenceKind::Data => matches!(media, Pdf | Jpeg | Png | Heic),
    }
}

/// ISO-BMFF brands, by what they tell us about the content.
const HEIF_BRANDS: &[&[u8; 4]] = &[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"];
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
        let compatible = head.get(16..end).unwrap_or(&[]).chunks_exact(4);
        let brands = std::iter::once(major).chain(compatible);
        let mut fallback = None;
        for brand in brands {
            let is = |set: &[&[u8; 4]]| set.iter().any(|b| brand == *b);
            if is(HEIF_BRANDS) {
                return Ok(MediaType::Heic);
            }
            if is(AUDIO_MP4_BRANDS) {
                return Ok(MediaType::M4a);
            }
            if brand.starts_with(b"3gp") || brand.starts_with(b"3g2") || brand.starts_with(b"3ge") {
                return Ok(MediaType::ThreeGp);
            }
            if brand == b"qt  " {
                return Ok(MediaType::Mov);
            }
            if fallback.is_none() && is(MP4_BRANDS) {
                fallback = Some(MediaType::Mp4);
            }
        }
        fallback.ok_or_else(|| {
            EvidenceError::UnsupportedMedia(format!("ISO media with brand {}", printable(major)))
        })
    }

    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Heic => "image/heic",
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

    /// A short human name for messages ("JPEG").
    pub fn label(self) -> &'static str {
        match self {
            MediaType::Jpeg => "JPEG",
            MediaType::Png => "PNG",
            MediaType::Heic => "HEIC",
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
        matches!(self, MediaType::Jpeg | MediaType::Png | MediaType::Heic)
    }
}

const ALL: [MediaType; 12] = [
    MediaType::Jpeg,
    MediaType::Png,
    MediaType::Heic,
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

/// Checks a JPEG's marker structure as its bytes stream past, without buffering it.
///
/// A JPEG is `SOI`, marker segments with 16-bit lengths, then after each `SOS` entropy-coded data in
/// which `0xFF` is always followed by `0x00` (stuffing), a restart marker or the next marker, and
/// finally `EOI`. A file that ends before `EOI` was cut short. Bytes after `EOI` are allowed: phones
/// append motion-photo video and vendor trailers there.
#[derive(Debug, Default)]
pub struct JpegStructure {
    state: ScanState,
    consumed: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    #[default]
    Soi0,
    Soi1,
    /// Expecting `0xFF` before a marker code.
    MarkerPrefix {
        entropy: bool,
    },
    /// After `0xFF`: the marker code (more `0xFF` are fill bytes).
    MarkerCode {
        entropy: bool,
    },
    LenHi {
        marker: u8,
    },
    LenLo {
        marker: u8,
        hi: u8,
    },
    Skip {
        remaining: u32,
        then_entropy: bool,
    },
    Entropy,
    Done,
    Broken(&'static str),
}

impl JpegStructure {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                ScanState::Done | ScanState::Broken(_) => return,
                ScanState::Skip { remaining, then_entropy } => {
                    let n = (remaining as usize).min(data.len());
                    data = &data[n..];
                    self.consumed += n as u64;
                    let left = remaining - n as u32;
                    self.state = if left > 0 {
                        ScanState::Skip { remaining: left, then_entropy }
                    } else if then_entropy {
                        ScanState::Entropy
                    } else {
                        ScanState::MarkerPrefix { entropy: false }
                    };
                }
                ScanState::Entropy => match find_ff(data) {
                    Some(i) => {
                        data = &data[i + 1..];
                        self.consumed += i as u64 + 1;
                        self.state = ScanState::MarkerCode { entropy: true };
                    }
                    None => {
                        self.consumed += data.len() as u64;
                        return;
                    }
                },
                _ => {
                    let b = data[0];
                    data = &data[1..];
                    self.consumed += 1;
                    self.step(b);
                }
            }
        }
    }

    fn step(&mut self, b: u8) {
        self.state = match self.state {
            ScanState::Soi0 if b == 0xFF => ScanState::Soi1,
            ScanState::Soi1 if b == 0xD8 => ScanState::MarkerPrefix { entropy: false },
            ScanState::Soi0 | ScanState::Soi1 => ScanState::Broken("no start-of-image marker"),
            ScanState::MarkerPrefix { entropy } if b == 0xFF => ScanState::MarkerCode { entropy },
            ScanState::MarkerPrefix { .. } => ScanState::Broken("bytes between segments"),
            ScanState::MarkerCode { entropy } => match b {
                0xFF => ScanState::MarkerCode { entropy },
                0x00 if entropy => ScanState::Entropy,
                0xD0..=0xD7 if entropy => ScanState::Entropy,
                0x00 | 0xD0..=0xD7 => ScanState::Broken("restart marker outside scan data"),
                0xD9 => ScanState::Done,
                0xD8 => ScanState::Broken("second start-of-image marker"),
                0x01 => ScanState::MarkerPrefix { entropy: false },
                marker => ScanState::LenHi { marker },
            },
            ScanState::LenHi { marker } => ScanState::LenLo { marker, hi: b },
            ScanState::LenLo { marker, hi } => {
                let len = u16::from_be_bytes([hi, b]);
                if len < 2 {
                    ScanState::Broken("segment length below 2")
                } else {
                    let then_entropy = marker == 0xDA;
                    match u32::from(len) - 2 {
                        0 if then_entropy => ScanState::Entropy,
                        0 => ScanState::MarkerPrefix { entropy: false },
                        remaining => ScanState::Skip { remaining, then_entropy },
                    }
                }
            }
            other => other,
        };
    }

    /// The verdict once every byte was fed.
    pub fn finish(&self) -> Result<(), EvidenceError> {
        match self.state {
            ScanState::Done => Ok(()),
            ScanState::Broken(reason) => {
                Err(EvidenceError::Corrupt { media: "JPEG", reason: reason.to_string() })
            }
            _ => Err(EvidenceError::Truncated {
                media: "JPEG",
                reason: format!("ends after {} bytes without an end-of-image marker", self.consumed),
            }),
        }
    }
}

/// Finds the first `0xFF`, eight bytes at a time: entropy-coded data is most of a JPEG and this
/// check runs inside the ingest budget.
fn find_ff(data: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= data.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&data[i..i + 8]);
        // A byte is 0xFF exactly when its complement is zero; the classic has-zero-byte test.
        let x = !u64::from_le_bytes(word);
        if (x.wrapping_sub(LO) & !x & HI) != 0 {
            break;
        }
        i += 8;
    }
    data[i..].iter().position(|&b| b == 0xFF).map(|p| p + i)
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
            MediaType::sniff(&ftyp(b"avif", &[b"avif"])),
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

    fn minimal_jpeg() -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB]); // APP0 with 2 payload bytes
        v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x03, 0x01]); // SOS header
        v.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56]); // stuffing + RST3
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    #[test]
    fn complete_jpeg_passes_and_every_truncation_fails() {
        let jpeg = minimal_jpeg();
        let mut s = JpegStructure::new();
        s.feed(&jpeg);
        s.finish().unwrap();
        for cut in 0..jpeg.len() {
            let mut s = JpegStructure::new();
            s.feed(&jpeg[..cut]);
            assert!(s.finish().is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn trailer_after_end_of_image_is_allowed() {
        let mut jpeg = minimal_jpeg();
        jpeg.extend_from_slice(b"\0\0\0\x18ftypmp42 motion photo video");
        let mut s = JpegStructure::new();
        s.feed(&jpeg);
        s.finish().unwrap();
    }

    #[test]
    fn broken_marker_structure_is_corrupt_not_truncated() {
        let mut jpeg = minimal_jpeg();
        jpeg[8] = 0x00; // where the SOS marker prefix should be
        let mut s = JpegStructure::new();
        s.feed(&jpeg);
        assert!(matches!(s.finish(), Err(EvidenceError::Corrupt { .. })));
    }

    proptest! {
        #[test]
        fn verdict_does_not_depend_on_chunking(split in prop::collection::vec(1usize..7, 1..20), body in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut jpeg = minimal_jpeg();
            let eoi = jpeg.len() - 2;
            // Random entropy bytes with every 0xFF stuffed, so the structure stays valid.
            let mut entropy = Vec::new();
            for b in body { entropy.push(b); if b == 0xFF { entropy.push(0); } }
            jpeg.splice(eoi..eoi, entropy);
            let mut whole = JpegStructure::new();
            whole.feed(&jpeg);
            prop_assert!(whole.finish().is_ok());
            let mut parts = JpegStructure::new();
            let mut rest = &jpeg[..];
            let mut i = 0;
            while !rest.is_empty() {
                let n = split[i % split.len()].min(rest.len());
                parts.feed(&rest[..n]);
                rest = &rest[n..];
                i += 1;
            }
            prop_assert!(parts.finish().is_ok());
        }

        #[test]
        fn find_ff_agrees_with_a_plain_search(data in prop::collection::vec(prop_oneof![Just(0xFFu8), any::<u8>()], 0..64)) {
            prop_assert_eq!(find_ff(&data), data.iter().position(|&b| b == 0xFF));
        }

        #[test]
        fn sniffing_never_panics(data in prop::collection::vec(any::<u8>(), 0..80)) {
            let _ = MediaType::sniff(&data);
        }
    }
}

//! PNG structure, checked as the bytes stream past: the signature, then chunks of
//! `length(4) type(4) data crc(4)` up to `IEND`. A file that ends before `IEND` was cut short and
//! is refused as truncated; a chunk length over 2³¹−1 or a type that is not four letters means the
//! structure cannot be followed (corrupt). A CRC mismatch or bytes after `IEND` are recorded as
//! irregular and sealed: the bytes are what the device wrote, and a decoder may still read them.
//! The `IHDR` is kept for the preview's memory budget.

use super::EvidenceError;

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// The PNG image header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PngHeader {
    pub width: u32,
    pub height: u32,
    pub bit_depth: u8,
    pub color_type: u8,
    pub interlaced: bool,
}

impl PngHeader {
    /// Bytes a full decode holds: the image as 8- or 16-bit samples (palette expanded to RGBA),
    /// twice over for an interlaced image, which is assembled from passes.
    pub fn decode_bytes(&self) -> u64 {
        let channels: u64 = match self.color_type {
            0 => 1,
            2 => 3,
            4 => 2,
            _ => 4,
        };
        let sample = if self.bit_depth == 16 { 2 } else { 1 };
        // A hostile header claims up to 2³²−1 × 2³²−1: saturate, so it reads as over any budget
        // instead of overflowing (found by the thumbnail fuzz target).
        let image =
            u64::from(self.width).saturating_mul(u64::from(self.height)).saturating_mul(channels * sample);
        if self.interlaced { image.saturating_mul(2) } else { image }
    }

    /// Parses the 13-byte IHDR body.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let b = body.get(..13)?;
        Some(Self {
            width: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            height: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            bit_depth: b[8],
            color_type: b[9],
            interlaced: b[12] == 1,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Signature {
        have: usize,
    },
    /// Length and type: `have` of 8 bytes.
    ChunkHeader {
        have: usize,
    },
    Data {
        remaining: u32,
    },
    Crc {
        have: usize,
    },
    Done,
    Broken(&'static str),
}

/// The streaming check.
#[derive(Debug)]
pub struct PngStructure {
    state: State,
    header: [u8; 8],
    crc_bytes: [u8; 4],
    crc: u32,
    ihdr: Vec<u8>,
    header_seen: Option<PngHeader>,
    chunks: u64,
    crc_mismatch: bool,
    trailing: bool,
    consumed: u64,
}

impl Default for PngStructure {
    fn default() -> Self {
        Self::new()
    }
}

impl PngStructure {
    pub fn new() -> Self {
        Self {
            state: State::Signature { have: 0 },
            header: [0; 8],
            crc_bytes: [0; 4],
            crc: 0,
            ihdr: Vec::new(),
            header_seen: None,
            chunks: 0,
            crc_mismatch: false,
            trailing: false,
            consumed: 0,
        }
    }

    fn chunk_type(&self) -> [u8; 4] {
        [self.header[4], self.header[5], self.header[6], self.header[7]]
    }

    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                State::Broken(_) => return,
                State::Done => {
                    self.trailing = true;
                    self.consumed += data.len() as u64;
                    return;
                }
                State::Data { remaining } => {
                    let n = (remaining as usize).min(data.len());
                    self.crc = crc32_update(self.crc, &data[..n]);
                    if self.chunk_type() == *b"IHDR" && self.ihdr.len() < 13 {
                        let take = (13 - self.ihdr.len()).min(n);
                        self.ihdr.extend_from_slice(&data[..take]);
                    }
                    data = &data[n..];
                    self.consumed += n as u64;
                    let left = remaining - n as u32;
                    self.state =
                        if left > 0 { State::Data { remaining: left } } else { State::Crc { have: 0 } };
                }
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
            State::Signature { have } => {
                if SIGNATURE[have] != b {
                    State::Broken("no PNG signature")
                } else if have + 1 == SIGNATURE.len() {
                    State::ChunkHeader { have: 0 }
                } else {
                    State::Signature { have: have + 1 }
                }
            }
            State::ChunkHeader { have } => {
                self.header[have] = b;
                if have + 1 < 8 { State::ChunkHeader { have: have + 1 } } else { self.chunk_started() }
            }
            State::Crc { have } => {
                self.crc_bytes[have] = b;
                if have + 1 < 4 { State::Crc { have: have + 1 } } else { self.chunk_ended() }
            }
            other => other,
        };
    }

    fn chunk_started(&mut self) -> State {
        let len = u32::from_be_bytes([self.header[0], self.header[1], self.header[2], self.header[3]]);
        let kind = self.chunk_type();
        if len > 0x7FFF_FFFF {
            return State::Broken("a chunk length over 2^31-1");
        }
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return State::Broken("a chunk type that is not four letters");
        }
        self.chunks += 1;
        if self.chunks == 1 && kind != *b"IHDR" {
            return State::Broken("the first chunk is not IHDR");
        }
        self.crc = crc32_update(0, &kind);
        if len == 0 { State::Crc { have: 0 } } else { State::Data { remaining: len } }
    }

    fn chunk_ended(&mut self) -> State {
        if u32::from_be_bytes(self.crc_bytes) != self.crc {
            self.crc_mismatch = true;
        }
        if self.chunk_type() == *b"IHDR" {
            self.header_seen = PngHeader::parse(&self.ihdr);
        }
        if self.chunk_type() == *b"IEND" { State::Done } else { State::ChunkHeader { have: 0 } }
    }

    pub fn finish(&self) -> Result<(), EvidenceError> {
        match self.state {
            State::Done => Ok(()),
            State::Broken(reason) => Err(EvidenceError::Corrupt { media: "PNG", reason: reason.into() }),
            _ => Err(EvidenceError::Truncated {
                media: "PNG",
                reason: format!("ends after {} bytes without its IEND chunk", self.consumed),
            }),
        }
    }

    pub fn irregular(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.crc_mismatch {
            out.push("png_crc_mismatch".to_string());
        }
        if self.trailing {
            out.push("png_trailing_data".to_string());
        }
        out
    }

    pub fn header(&self) -> Option<PngHeader> {
        self.header_seen
    }
}

/// CRC-32 (ISO 3309, as PNG uses it), bitwise with a nibble table: PNG evidence is small and this
/// avoids a dependency for twelve lines.
fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    const TABLE: [u32; 16] = [
        0x0000_0000,
        0x1DB7_1064,
        0x3B6E_20C8,
        0x26D9_30AC,
        0x76DC_4190,
        0x6B6B_51F4,
        0x4DB2_6158,
        0x5005_713C,
        0xEDB8_8320,
        0xF00F_9344,
        0xD6D6_A3E8,
        0xCB61_B38C,
        0x9B64_C2B0,
        0x86D3_D2D4,
        0xA00A_E278,
        0xBDBD_F21C,
    ];
    let mut c = !crc;
    for &b in data {
        c ^= u32::from(b);
        c = TABLE[(c & 0xF) as usize] ^ (c >> 4);
        c = TABLE[(c & 0xF) as usize] ^ (c >> 4);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(width, height, image::Rgb([10, 200, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn check(bytes: &[u8]) -> PngStructure {
        let mut s = PngStructure::new();
        for c in bytes.chunks(5) {
            s.feed(c);
        }
        s
    }

    #[test]
    fn a_header_claiming_the_largest_interlaced_16_bit_rgba_image_costs_the_most_not_an_overflow() {
        let header =
            PngHeader { width: u32::MAX, height: u32::MAX, bit_depth: 16, color_type: 6, interlaced: true };
        assert_eq!(header.decode_bytes(), u64::MAX);
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32_update(0, b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_real_png_passes_with_its_header_and_every_cut_is_truncated() {
        let bytes = png(40, 30);
        let s = check(&bytes);
        s.finish().unwrap();
        assert!(s.irregular().is_empty());
        assert_eq!(s.header().map(|h| (h.width, h.height, h.color_type)), Some((40, 30, 2)));
        for keep in 8..bytes.len() {
            assert!(matches!(check(&bytes[..keep]).finish(), Err(EvidenceError::Truncated { .. })), "{keep}");
        }
    }

    #[test]
    fn a_bad_crc_is_irregular_and_a_broken_chunk_type_is_corrupt() {
        let mut bytes = png(8, 8);
        let last = bytes.len() - 13; // a byte inside IDAT's CRC or data
        bytes[last] ^= 0x55;
        let s = check(&bytes);
        s.finish().unwrap();
        assert_eq!(s.irregular(), vec!["png_crc_mismatch".to_string()]);
        let mut bytes = png(8, 8);
        bytes[12] = b'#';
        assert!(matches!(check(&bytes).finish(), Err(EvidenceError::Corrupt { .. })));
    }
}

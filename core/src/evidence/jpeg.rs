//! JPEG structure, checked as the bytes stream past, and the frame header read before a decode.
//!
//! A JPEG is `SOI`, marker segments with 16-bit lengths, then after each `SOS` entropy-coded data in
//! which `0xFF` is always followed by `0x00` (stuffing), a restart marker or the next marker, and
//! finally `EOI`. A file that ends before `EOI` was cut short and is refused as truncated. What
//! libjpeg tolerates with a warning — stray bytes between segments ("N extraneous bytes before
//! marker"), a restart marker outside scan data — is recorded as an irregularity and sealed. Only a
//! structure that cannot be followed (a segment length below 2, a second `SOI`) is corrupt. Bytes
//! after `EOI` are allowed: phones append motion-photo video and vendor trailers there.

use std::io::{self, BufRead, Read};

use super::EvidenceError;

/// Checks a JPEG's marker structure as its bytes stream past, without buffering it.
#[derive(Debug, Default)]
pub struct JpegStructure {
    state: ScanState,
    consumed: u64,
    stray_bytes: u64,
    stray_markers: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    #[default]
    Soi0,
    Soi1,
    /// Expecting `0xFF` before a marker code (anything else is a stray byte).
    MarkerPrefix,
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
                        ScanState::MarkerPrefix
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
            ScanState::Soi1 if b == 0xD8 => ScanState::MarkerPrefix,
            ScanState::Soi0 | ScanState::Soi1 => ScanState::Broken("no start-of-image marker"),
            ScanState::MarkerPrefix if b == 0xFF => ScanState::MarkerCode { entropy: false },
            ScanState::MarkerPrefix => {
                self.stray_bytes += 1;
                ScanState::MarkerPrefix
            }
            ScanState::MarkerCode { entropy } => match b {
                0xFF => ScanState::MarkerCode { entropy },
                0x00 if entropy => ScanState::Entropy,
                0xD0..=0xD7 if entropy => ScanState::Entropy,
                // `FF 00` outside a scan: libjpeg discards both bytes and keeps looking.
                0x00 => {
                    self.stray_bytes += 2;
                    ScanState::MarkerPrefix
                }
                // A parameterless marker outside a scan: libjpeg notes it and reads on.
                0xD0..=0xD7 | 0x01 => {
                    self.stray_markers += 1;
                    ScanState::MarkerPrefix
                }
                0xD9 => ScanState::Done,
                0xD8 => ScanState::Broken("second start-of-image marker"),
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
                        0 => ScanState::MarkerPrefix,
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

    /// What was tolerated on the way (machine-readable codes for `media_irregular`).
    pub fn irregular(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.stray_bytes > 0 {
            out.push("jpeg_stray_bytes".to_string());
        }
        if self.stray_markers > 0 {
            out.push("jpeg_stray_marker".to_string());
        }
        out
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

/// One image component of a frame: its sampling factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameComponent {
    pub h: u8,
    pub v: u8,
}

/// The start-of-frame header: what a decoder will allocate for, known before it allocates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameHeader {
    pub width: u16,
    pub height: u16,
    pub precision: u8,
    /// SOF2/6/10/14: a progressive decoder keeps every DCT coefficient of the full-size image.
    pub progressive: bool,
    pub components: Vec<FrameComponent>,
}

impl FrameHeader {
    /// Bytes a DCT decoder needs: the full-size coefficient planes when progressive (2 bytes per
    /// coefficient, 64 per block, blocks padded to whole MCUs), plus the output planes at `scale`
    /// (1..=8 pixels per output pixel per side) and the interleaved result.
    pub fn decode_bytes(&self, scale: u32) -> u64 {
        let hmax = u64::from(self.components.iter().map(|c| c.h).max().unwrap_or(1).max(1));
        let vmax = u64::from(self.components.iter().map(|c| c.v).max().unwrap_or(1).max(1));
        let mcus_x = u64::from(self.width).div_ceil(8 * hmax);
        let mcus_y = u64::from(self.height).div_ceil(8 * vmax);
        let scale = u64::from(scale.clamp(1, 8));
        let dct = 8 / scale;
        let mut total = 0u64;
        for c in &self.components {
            let blocks = mcus_x * u64::from(c.h.max(1)) * mcus_y * u64::from(c.v.max(1));
            if self.progressive {
                total += blocks * 64 * 2;
            }
            total += blocks * dct * dct;
        }
        let out_px = u64::from(self.width).div_ceil(scale) * u64::from(self.height).div_ceil(scale);
        total + out_px * self.components.len() as u64
    }
}

/// Reads the frame header by walking the segments before it (tolerating stray bytes as the
/// structure check does), reading at most `budget` bytes. `None` when there is no frame header
/// within them or the input ends first.
pub fn read_frame_header<R: BufRead>(r: R, budget: u64) -> io::Result<Option<FrameHeader>> {
    let mut r = r.take(budget);
    let mut byte = || -> io::Result<Option<u8>> {
        let mut b = [0u8; 1];
        Ok(match r.read(&mut b)? {
            0 => None,
            _ => Some(b[0]),
        })
    };
    if byte()? != Some(0xFF) || byte()? != Some(0xD8) {
        return Ok(None);
    }
    loop {
        let Some(b) = byte()? else { return Ok(None) };
        if b != 0xFF {
            continue;
        }
        let mut code = 0xFF;
        while code == 0xFF {
            let Some(b) = byte()? else { return Ok(None) };
            code = b;
        }
        match code {
            0xD8..=0xDA => return Ok(None),
            0x00 | 0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let (Some(hi), Some(lo)) = (byte()?, byte()?) else { return Ok(None) };
        let Some(body) = u16::from_be_bytes([hi, lo]).checked_sub(2) else { return Ok(None) };
        let mut seg = Vec::with_capacity(usize::from(body));
        for _ in 0..body {
            let Some(b) = byte()? else { return Ok(None) };
            seg.push(b);
        }
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if matches!(code, 0xC0..=0xCF) && !matches!(code, 0xC4 | 0xC8 | 0xCC) {
            if seg.len() < 6 {
                return Ok(None);
            }
            let n = usize::from(seg[5]);
            let components = seg[6..]
                .chunks_exact(3)
                .take(n)
                .map(|c| FrameComponent { h: c[1] >> 4, v: c[1] & 0x0F })
                .collect::<Vec<_>>();
            return Ok(Some(FrameHeader {
                precision: seg[0],
                height: u16::from_be_bytes([seg[1], seg[2]]),
                width: u16::from_be_bytes([seg[3], seg[4]]),
                progressive: matches!(code, 0xC2 | 0xC6 | 0xCA | 0xCE),
                components,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn minimal_jpeg() -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB]); // APP0 with 2 payload bytes
        v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x03, 0x01]); // SOS header
        v.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56]); // stuffing + RST3
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    fn check(bytes: &[u8]) -> JpegStructure {
        let mut s = JpegStructure::new();
        s.feed(bytes);
        s
    }

    #[test]
    fn complete_jpeg_passes_and_every_truncation_fails() {
        let jpeg = minimal_jpeg();
        check(&jpeg).finish().unwrap();
        for cut in 0..jpeg.len() {
            assert!(check(&jpeg[..cut]).finish().is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn trailer_after_end_of_image_is_allowed() {
        let mut jpeg = minimal_jpeg();
        jpeg.extend_from_slice(b"\0\0\0\x18ftypmp42 motion photo video");
        check(&jpeg).finish().unwrap();
    }

    #[test]
    fn stray_bytes_between_segments_are_irregular_not_corrupt() {
        let mut jpeg = minimal_jpeg();
        jpeg.splice(8..8, [0x00, 0x00, 0x17]);
        let s = check(&jpeg);
        s.finish().unwrap();
        assert_eq!(s.irregular(), vec!["jpeg_stray_bytes".to_string()]);
        assert!(check(&minimal_jpeg()).irregular().is_empty());
    }

    #[test]
    fn a_segment_length_below_two_is_corrupt_not_truncated() {
        let mut jpeg = minimal_jpeg();
        jpeg[5] = 0x01; // APP0 length 1
        assert!(matches!(check(&jpeg).finish(), Err(EvidenceError::Corrupt { .. })));
    }

    #[test]
    fn frame_header_gives_size_sampling_and_progressive() {
        let mut jpeg = vec![0xFF, 0xD8, 0x00, 0xFF, 0xC2, 0x00, 0x11, 8];
        jpeg.extend_from_slice(&19999u16.to_be_bytes());
        jpeg.extend_from_slice(&19999u16.to_be_bytes());
        jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        let h = read_frame_header(io::Cursor::new(jpeg), 1 << 20).unwrap().unwrap();
        assert!(h.progressive);
        assert_eq!((h.width, h.height), (19999, 19999));
        assert_eq!(
            h.components,
            vec![FrameComponent { h: 2, v: 2 }, FrameComponent { h: 1, v: 1 }, FrameComponent { h: 1, v: 1 }]
        );
        // 1250² MCUs of 6 blocks, 128 bytes each: about 1.1 GiB before any output.
        assert!(h.decode_bytes(8) > 1_100_000_000, "{}", h.decode_bytes(8));
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
            prop_assert!(check(&jpeg).finish().is_ok());
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
    }
}

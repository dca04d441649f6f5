//! 结构检查 — the structure check for whatever media a file was sniffed as, run on the same chunks
//! that are hashed. It decides the only two refusals the bytes themselves can earn (docs/decisions/
//! 0004-refuse-or-flag.md): *truncated* (provably incomplete) and *corrupt* (the structure cannot be
//! followed, so the bytes are not the claimed media). Everything a decoder tolerates comes back as
//! irregularity codes for the `media_irregular` flag, and movie containers report what they say
//! about themselves (creation time, duration, location).

use super::{
    EvidenceError, MediaType,
    isobmff::{BmffKind, BmffStructure, MovieSummary},
    jpeg::JpegStructure,
    png::PngStructure,
};

/// One streaming check, chosen by media type. Media without a check here (MP3, AAC, AMR, WAV,
/// PDF) are sealed on their magic bytes alone.
#[derive(Debug)]
pub enum StructureCheck {
    Jpeg(JpegStructure),
    Png(PngStructure),
    Bmff(BmffStructure),
    Unchecked,
}

/// What a passing check found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StructureReport {
    /// Tolerated departures from the format (`jpeg_stray_bytes`, `bmff_trailing_data`, ...).
    pub irregular: Vec<String>,
    /// For MP4/MOV/3GP/M4A: what the movie box says.
    pub movie: Option<MovieSummary>,
}

impl StructureCheck {
    pub fn for_media(media: MediaType) -> Self {
        match media {
            MediaType::Jpeg => StructureCheck::Jpeg(JpegStructure::new()),
            MediaType::Png => StructureCheck::Png(PngStructure::new()),
            m if m.is_heif() => StructureCheck::Bmff(BmffStructure::new(BmffKind::Heif, m.label())),
            m if m.is_movie() => StructureCheck::Bmff(BmffStructure::new(BmffKind::Movie, m.label())),
            _ => StructureCheck::Unchecked,
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        match self {
            StructureCheck::Jpeg(s) => s.feed(data),
            StructureCheck::Png(s) => s.feed(data),
            StructureCheck::Bmff(s) => s.feed(data),
            StructureCheck::Unchecked => {}
        }
    }

    /// The verdict once every byte was fed.
    pub fn finish(self) -> Result<StructureReport, EvidenceError> {
        match self {
            StructureCheck::Jpeg(s) => {
                s.finish()?;
                Ok(StructureReport { irregular: s.irregular(), movie: None })
            }
            StructureCheck::Png(s) => {
                s.finish()?;
                Ok(StructureReport { irregular: s.irregular(), movie: None })
            }
            StructureCheck::Bmff(s) => {
                let r = s.finish()?;
                Ok(StructureReport { irregular: r.irregular, movie: r.movie })
            }
            StructureCheck::Unchecked => Ok(StructureReport::default()),
        }
    }
}

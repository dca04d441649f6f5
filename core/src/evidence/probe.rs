//! 媒体诊断 — what ingest would record from a file, without storing anything. For operators
//! diagnosing a terminal's camera (`fieldseal media probe FILE`).

use std::{
    io::{self, Read},
    path::Path,
};

use ring::digest;
use serde::Serialize;

use super::{
    CaptureFlag, EvidenceError, ExifSummary, GeoPoint, MediaType,
    exif::read_exif,
    isobmff::MovieSummary,
    location::wgs84_to_gcj02,
    media::SNIFF_LEN,
    structure::StructureCheck,
    thumbnail::{Preview, ThumbnailSource, make_thumbnail},
};
use crate::{crypto::column::hex, explain::Explain, input_file};

/// The probe's findings. `refusal` is set when ingest would refuse the file, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    pub media_type: Option<&'static str>,
    pub size: u64,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exif: Option<ExifSummary>,
    /// GPS from EXIF converted to GCJ-02, for checking against a Chinese map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps_gcj02: Option<GeoPoint>,
    /// What a video or audio container says about itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub movie: Option<MovieSummary>,
    /// `exif`, `decoded`, `over_budget` or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<&'static str>,
    /// The capture flags the file itself earns (EXIF and structure quirks, the preview budget);
    /// ingest adds those that depend on the platform's fix and clocks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<CaptureFlag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

/// Why ingest would refuse the file, as the app would show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub code: &'static str,
    pub message_en: String,
    pub message_zh: String,
}

impl From<EvidenceError> for Refusal {
    fn from(e: EvidenceError) -> Self {
        let x = e.explain();
        Refusal { code: x.code, message_en: x.message_en, message_zh: x.message_zh }
    }
}

/// Reads `path` once for its hash and structure, then its EXIF and thumbnail. Fails only when the
/// file cannot be read at all; anything ingest would refuse is reported in [`ProbeReport::refusal`].
pub fn probe(path: &Path) -> Result<ProbeReport, EvidenceError> {
    // A FIFO or a device is refused at once instead of hanging the open or being hashed for ever.
    let (mut file, _) =
        input_file::open_regular(path, None).map_err(|e| EvidenceError::unreadable(path, e))?;
    let mut sha = digest::Context::new(&digest::SHA256);
    let mut head = Vec::with_capacity(SNIFF_LEN);
    let mut structure: Option<StructureCheck> = None;
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(EvidenceError::unreadable(path, e)),
        };
        let chunk = &buf[..n];
        let mut head_taken = 0;
        if head.len() < SNIFF_LEN {
            head_taken = (SNIFF_LEN - head.len()).min(n);
            head.extend_from_slice(&chunk[..head_taken]);
        }
        sha.update(chunk);
        if let Some(s) = structure.as_mut() {
            s.feed(chunk);
        } else if head.len() >= SNIFF_LEN || n < buf.len() {
            // The type is known once the sniffing bytes are in; the check starts from byte 0.
            if let Ok(media) = MediaType::sniff(&head) {
                let mut s = StructureCheck::for_media(media);
                s.feed(&head);
                s.feed(&chunk[chunk.len().min(head_taken)..]);
                structure = Some(s);
            }
        }
        size += n as u64;
    }
    let mut report = ProbeReport {
        media_type: None,
        size,
        sha256: hex(sha.finish().as_ref()),
        exif: None,
        gps_gcj02: None,
        movie: None,
        thumbnail: None,
        flags: Vec::new(),
        refusal: None,
    };
    let media = match MediaType::sniff(&head) {
        Ok(m) => m,
        Err(e) => {
            report.refusal = Some(e.into());
            return Ok(report);
        }
    };
    report.media_type = Some(media.mime());
    let structure = structure.unwrap_or_else(|| StructureCheck::for_media(media));
    match structure.finish() {
        Ok(found) => {
            if !found.irregular.is_empty() {
                report.flags.push(CaptureFlag::MediaIrregular { details: found.irregular });
            }
            report.movie = found.movie;
        }
        Err(e) => {
            report.refusal = Some(e.into());
            return Ok(report);
        }
    }
    let exif = read_exif(path, media)?;
    if let Some(exif) = &exif {
        report.gps_gcj02 = exif.summary.comparable_position().map(|(p, _)| wgs84_to_gcj02(p));
        report.flags.extend(exif.summary.flags());
        report.exif = Some(exif.summary.clone());
    }
    let orientation = exif.as_ref().and_then(|e| e.summary.orientation);
    let embedded = exif.as_ref().and_then(|e| e.thumbnail.as_deref());
    let preview = make_thumbnail(embedded, path, media, orientation);
    report.flags.extend(preview.flag());
    report.thumbnail = match preview {
        Preview::Made { source: ThumbnailSource::Exif, .. } => Some("exif"),
        Preview::Made { source: ThumbnailSource::Decoded, .. } => Some("decoded"),
        Preview::OverBudget { .. } => Some("over_budget"),
        Preview::Unavailable => None,
    };
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_instead_of_hashed_for_ever() {
        let err = probe(Path::new("/dev/zero")).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::SourceUnreadable { source, .. }
            if source.kind() == io::ErrorKind::InvalidInput),
            "{err:?}"
        );
    }
}

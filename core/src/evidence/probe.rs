//! 媒体诊断 — what ingest would record from a file, without storing anything. For operators
//! diagnosing a terminal's camera (`fieldseal media probe FILE`).

use std::{
    fs::File,
    io::{self, Read},
    path::Path,
};

use ring::digest;
use serde::Serialize;

use super::{
    EvidenceError, ExifSummary, GeoPoint, MediaType,
    exif::read_exif,
    location::wgs84_to_gcj02,
    media::{JpegStructure, SNIFF_LEN},
    thumbnail::{ThumbnailSource, make_thumbnail},
};
use crate::{crypto::column::hex, explain::Explain};

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
    /// `exif`, `decoded` or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<&'static str>,
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
    let mut file = File::open(path).map_err(|e| EvidenceError::unreadable(path, e))?;
    let mut sha = digest::Context::new(&digest::SHA256);
    let mut head = Vec::with_capacity(SNIFF_LEN);
    let mut jpeg = JpegStructure::new();
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
        if head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - head.len()).min(n);
            head.extend_from_slice(&chunk[..take]);
        }
        sha.update(chunk);
        jpeg.feed(chunk);
        size += n as u64;
    }
    let mut report = ProbeReport {
        media_type: None,
        size,
        sha256: hex(sha.finish().as_ref()),
        exif: None,
        gps_gcj02: None,
        thumbnail: None,
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
    if media == MediaType::Jpeg {
        if let Err(e) = jpeg.finish() {
            report.refusal = Some(e.into());
            return Ok(report);
        }
    }
    let exif = match read_exif(path, media) {
        Ok(exif) => exif,
        Err(e) => {
            report.refusal = Some(e.into());
            return Ok(report);
        }
    };
    if let Some(exif) = &exif {
        report.gps_gcj02 = exif.summary.gps.as_ref().map(|g| wgs84_to_gcj02(GeoPoint::new(g.lat, g.lon)));
        report.exif = Some(exif.summary.clone());
    }
    let orientation = exif.as_ref().and_then(|e| e.summary.orientation);
    let embedded = exif.as_ref().and_then(|e| e.thumbnail.as_deref());
    report.thumbnail = make_thumbnail(embedded, path, media, orientation).map(|(_, source)| match source {
        ThumbnailSource::Exif => "exif",
        ThumbnailSource::Decoded => "decoded",
    });
    Ok(report)
}

//! EXIF as the camera wrote it: capture time with offset, GPS, make, model, orientation, and the
//! embedded thumbnail.
//!
//! Reading is bounded whatever the file claims: for JPEG we walk the marker segments before the
//! first scan (at most [`JPEG_HEADER_BUDGET`] bytes) and hand the one APP1 `Exif` segment (≤ 64 KiB
//! by construction) to kamadak-exif; PNG and HEIC go through kamadak-exif's container readers over a
//! reader that refuses to serve more than [`CONTAINER_BUDGET`] bytes. kamadak-exif bounds-checks every
//! count and offset against the block it was given, so a hostile block costs at most its own size.
//! A block that fails those checks is reported as [`EvidenceError::MaliciousExif`]; a file without
//! EXIF is `Ok(None)`. Values are reported as written, never "corrected".

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read, Seek, SeekFrom},
    path::Path,
};

use ::exif::{In, Reader, Tag, Value};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::{EvidenceError, MediaType};

/// How far into a JPEG the EXIF segment is looked for. EXIF must precede the image data, and the
/// segments before it (JFIF, ICC profiles, MPF) are a few hundred KiB at most.
pub const JPEG_HEADER_BUDGET: u64 = 1 << 20;
/// Bytes a PNG or HEIC container parser may read while looking for EXIF.
pub const CONTAINER_BUDGET: u64 = 4 << 20;
/// Make and model are free text from the camera; longer values are cut to this many characters.
const MAX_TEXT_CHARS: usize = 64;

/// EXIF GPS position (WGS-84 as the camera recorded it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ExifGps {
    /// Decimal degrees, south negative.
    pub lat: f64,
    /// Decimal degrees, west negative.
    pub lon: f64,
    /// Metres above sea level, below negative (GPSAltitudeRef 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub altitude_m: Option<f64>,
    /// GPSHPositioningError in metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h_positioning_error_m: Option<f64>,
    /// GPSDateStamp + GPSTimeStamp, which are UTC by definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_utc: Option<DateTime<Utc>>,
}

/// What the EXIF block says, reduced to the fields evidence checks use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ExifSummary {
    /// DateTimeOriginal as local wall time, without an offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_original: Option<NaiveDateTime>,
    /// OffsetTimeOriginal in minutes east of UTC, when the camera wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_minutes: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// TIFF orientation 1..=8 (1 = upright).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps: Option<ExifGps>,
    /// Whether IFD1 carries a usable JPEG thumbnail.
    pub has_thumbnail: bool,
    /// Fields present but unreadable (`date_time_original`, `gps`, ...): recorded, not repaired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

impl ExifSummary {
    /// The capture instant when both DateTimeOriginal and its offset are known.
    pub fn captured_at(&self) -> Option<DateTime<FixedOffset>> {
        let local = self.date_time_original?;
        let offset = FixedOffset::east_opt(self.offset_minutes? * 60)?;
        offset.from_local_datetime(&local).single()
    }
}

/// The summary plus the embedded thumbnail bytes (a JPEG, ≤ 64 KiB).
#[derive(Debug, Clone, Default)]
pub struct ExifData {
    pub summary: ExifSummary,
    pub thumbnail: Option<Vec<u8>>,
}

/// Reads EXIF from the file at `path`, which was sniffed as `media`. `Ok(None)` when there is none.
pub fn read_exif(path: &Path, media: MediaType) -> Result<Option<ExifData>, EvidenceError> {
    if !media.may_have_exif() {
        return Ok(None);
    }
    let file = File::open(path).map_err(|e| EvidenceError::unreadable(path, e))?;
    read_exif_from(file, media).map_err(|e| match e {
        ExifReadError::Evidence(e) => e,
        ExifReadError::Io(e) => EvidenceError::unreadable(path, e),
    })
}

/// Why [`read_exif_from`] failed: the EXIF itself, or the reader underneath (which the caller
/// names: a source file, or a sealed vault blob).
#[derive(Debug)]
pub enum ExifReadError {
    Evidence(EvidenceError),
    Io(io::Error),
}

/// Reads EXIF from any seekable reader over the media's bytes: the source file, or the plaintext
/// of a sealed blob, so the manifest describes exactly the bytes that were hashed.
pub fn read_exif_from<R: Read + Seek>(
    reader: R,
    media: MediaType,
) -> Result<Option<ExifData>, ExifReadError> {
    if !media.may_have_exif() {
        return Ok(None);
    }
    let raw = match media {
        MediaType::Jpeg => {
            let mut reader = BufReader::with_capacity(64 * 1024, reader);
            jpeg_exif_segment(&mut reader).map_err(|e| match e {
                SegmentError::Io(e) => ExifReadError::Io(e),
                SegmentError::Malformed(reason) => {
                    ExifReadError::Evidence(EvidenceError::Corrupt { media: "JPEG", reason: reason.into() })
                }
            })?
        }
        _ => {
            let mut reader = BufReader::new(Budgeted { inner: reader, left: CONTAINER_BUDGET });
            match Reader::new().read_from_container(&mut reader) {
                Ok(exif) => Some(exif.buf().to_vec()),
                Err(::exif::Error::NotFound(_)) => None,
                Err(::exif::Error::Io(e)) if budget_exhausted(&e) => None,
                Err(::exif::Error::Io(e)) => return Err(ExifReadError::Io(e)),
                Err(e) => {
                    return Err(ExifReadError::Evidence(EvidenceError::MaliciousExif {
                        reason: describe(&e),
                    }));
                }
            }
        }
    };
    raw.map(parse_tiff).transpose().map_err(ExifReadError::Evidence)
}

/// Parses a TIFF-structured EXIF block (what follows `Exif\0\0`).
pub fn parse_tiff(raw: Vec<u8>) -> Result<ExifData, EvidenceError> {
    let exif =
        Reader::new().read_raw(raw).map_err(|e| EvidenceError::MaliciousExif { reason: describe(&e) })?;
    let mut summary = ExifSummary::default();
    let field = |tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value);

    if let Some(v) = field(Tag::DateTimeOriginal) {
        match first_ascii(v).and_then(parse_datetime) {
            Some(dt) => summary.date_time_original = Some(dt),
            None => summary.unreadable.push("date_time_original".into()),
        }
    }
    if let Some(v) = field(Tag::OffsetTimeOriginal) {
        match first_ascii(v).and_then(parse_offset) {
            Some(minutes) => summary.offset_minutes = Some(minutes),
            None => summary.unreadable.push("offset_time_original".into()),
        }
    }
    summary.make = field(Tag::Make).and_then(first_ascii).map(clean_text).filter(|s| !s.is_empty());
    summary.model = field(Tag::Model).and_then(first_ascii).map(clean_text).filter(|s| !s.is_empty());
    if let Some(v) = field(Tag::Orientation) {
        match v.get_uint(0) {
            Some(o @ 1..=8) => summary.orientation = Some(o as u8),
            _ => summary.unreadable.push("orientation".into()),
        }
    }
    let has_gps_fields = field(Tag::GPSLatitude).is_some() || field(Tag::GPSLongitude).is_some();
    match read_gps(&field) {
        Some(gps) => summary.gps = Some(gps),
        None if has_gps_fields => summary.unreadable.push("gps".into()),
        None => {}
    }

    let thumbnail = embedded_thumbnail(&exif);
    summary.has_thumbnail = thumbnail.is_some();
    Ok(ExifData { summary, thumbnail })
}

fn read_gps<'a>(field: &impl Fn(Tag) -> Option<&'a Value>) -> Option<ExifGps> {
    let lat = dms(field(Tag::GPSLatitude)?)?;
    let lon = dms(field(Tag::GPSLongitude)?)?;
    let lat = match field(Tag::GPSLatitudeRef).and_then(first_ascii)? {
        b"N" => lat,
        b"S" => -lat,
        _ => return None,
    };
    let lon = match field(Tag::GPSLongitudeRef).and_then(first_ascii)? {
        b"E" => lon,
        b"W" => -lon,
        _ => return None,
    };
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return None;
    }
    let altitude_m = field(Tag::GPSAltitude).and_then(first_rational).map(|alt| {
        let below = matches!(field(Tag::GPSAltitudeRef), Some(Value::Byte(b)) if b.first() == Some(&1));
        if below { -alt } else { alt }
    });
    let h_positioning_error_m = field(Tag::GPSHPositioningError).and_then(first_rational);
    let time_utc = gps_time(field(Tag::GPSDateStamp), field(Tag::GPSTimeStamp));
    Some(ExifGps { lat, lon, altitude_m, h_positioning_error_m, time_utc })
}

/// Degrees, minutes, seconds as three rationals; any zero denominator makes the value unreadable.
fn dms(v: &Value) -> Option<f64> {
    let Value::Rational(r) = v else { return None };
    if r.is_empty() || r.len() > 3 || r.iter().any(|x| x.denom == 0) {
        return None;
    }
    let part = |i: usize| r.get(i).map_or(0.0, |x| x.to_f64());
    let deg = part(0) + part(1) / 60.0 + part(2) / 3600.0;
    deg.is_finite().then_some(deg)
}

fn first_rational(v: &Value) -> Option<f64> {
    match v {
        Value::Rational(r) => r.first().filter(|x| x.denom != 0).map(|x| x.to_f64()),
        _ => None,
    }
}

fn first_ascii(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Ascii(parts) => parts.first().map(|p| p.as_slice()),
        _ => None,
    }
}

fn parse_datetime(s: &[u8]) -> Option<NaiveDateTime> {
    let dt = ::exif::DateTime::from_ascii(s).ok()?;
    NaiveDate::from_ymd_opt(dt.year.into(), dt.month.into(), dt.day.into())?.and_hms_opt(
        dt.hour.into(),
        dt.minute.into(),
        dt.second.into(),
    )
}

fn parse_offset(s: &[u8]) -> Option<i32> {
    let mut dt = ::exif::DateTime {
        year: 0,
        month: 0,
        day: 0,
        hour: 0,
        minute: 0,
        second: 0,
        nanosecond: None,
        offset: None,
    };
    dt.parse_offset(s).ok()?;
    let minutes = i32::from(dt.offset?);
    // Real offsets lie within ±14 h; anything else is not a time zone.
    (minutes.abs() <= 14 * 60).then_some(minutes)
}

fn gps_time(date: Option<&Value>, time: Option<&Value>) -> Option<DateTime<Utc>> {
    let date = first_ascii(date?)?;
    let text = std::str::from_utf8(date).ok()?;
    let day = NaiveDate::parse_from_str(text.trim(), "%Y:%m:%d").ok()?;
    let Value::Rational(hms) = time? else { return None };
    if hms.len() != 3 || hms.iter().any(|x| x.denom == 0) {
        return None;
    }
    let secs = hms[0].to_f64() * 3600.0 + hms[1].to_f64() * 60.0 + hms[2].to_f64();
    if !(0.0..86_401.0).contains(&secs) {
        return None;
    }
    let whole = secs.trunc() as u32;
    let nanos = ((secs - secs.trunc()) * 1e9) as u32;
    let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(whole.min(86_399), nanos)?;
    Some(Utc.from_utc_datetime(&day.and_time(time)))
}

/// Printable text only, trimmed and cut, so a hostile Make cannot inject control characters into
/// a CLI, a log line or a manifest.
fn clean_text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

fn embedded_thumbnail(exif: &::exif::Exif) -> Option<Vec<u8>> {
    let offset = exif.get_field(Tag::JPEGInterchangeFormat, In::THUMBNAIL)?.value.get_uint(0)?;
    let len = exif.get_field(Tag::JPEGInterchangeFormatLength, In::THUMBNAIL)?.value.get_uint(0)?;
    let start = offset as usize;
    let end = start.checked_add(len as usize)?;
    let bytes = exif.buf().get(start..end)?;
    bytes.starts_with(&[0xFF, 0xD8]).then(|| bytes.to_vec())
}

fn describe(e: &::exif::Error) -> String {
    match e {
        ::exif::Error::InvalidFormat(why) | ::exif::Error::NotSupported(why) => (*why).to_string(),
        ::exif::Error::Io(_) => "unreadable".into(),
        other => other.to_string(),
    }
}

enum SegmentError {
    Io(io::Error),
    Malformed(&'static str),
}

impl From<io::Error> for SegmentError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            SegmentError::Malformed("ends inside its header segments")
        } else {
            SegmentError::Io(e)
        }
    }
}

/// Walks JPEG marker segments up to the first scan and returns the TIFF bytes of the first APP1
/// `Exif` segment. Reads at most [`JPEG_HEADER_BUDGET`] bytes and never allocates more than one
/// segment (≤ 65,533 bytes).
fn jpeg_exif_segment<R: BufRead + Seek>(r: &mut R) -> Result<Option<Vec<u8>>, SegmentError> {
    let mut soi = [0u8; 2];
    r.read_exact(&mut soi)?;
    if soi != [0xFF, 0xD8] {
        return Err(SegmentError::Malformed("no start-of-image marker"));
    }
    let mut pos: u64 = 2;
    while pos < JPEG_HEADER_BUDGET {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        pos += 1;
        if b[0] != 0xFF {
            return Err(SegmentError::Malformed("bytes between segments"));
        }
        let mut code = 0xFF;
        while code == 0xFF {
            r.read_exact(&mut b)?;
            pos += 1;
            code = b[0];
        }
        match code {
            0xD8 => return Err(SegmentError::Malformed("second start-of-image marker")),
            0xD9 | 0xDA => return Ok(None),
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let mut len = [0u8; 2];
        r.read_exact(&mut len)?;
        let len = u16::from_be_bytes(len);
        let body = len.checked_sub(2).ok_or(SegmentError::Malformed("segment length below 2"))?;
        pos += u64::from(len);
        if code == 0xE1 {
            let mut seg = vec![0u8; usize::from(body)];
            r.read_exact(&mut seg)?;
            if let Some(tiff) = seg.strip_prefix(b"Exif\0\0") {
                return Ok(Some(tiff.to_vec()));
            }
        } else {
            r.seek_relative(i64::from(body))?;
        }
    }
    Ok(None)
}

/// A reader that serves at most `left` bytes, then fails with a recognisable error, so a container
/// parser told to read a box "to the end" cannot pull a whole video into memory.
struct Budgeted<R> {
    inner: R,
    left: u64,
}

#[derive(Debug)]
struct BudgetExhausted;

impl std::fmt::Display for BudgetExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EXIF read budget exhausted")
    }
}

impl std::error::Error for BudgetExhausted {}

fn budget_exhausted(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<BudgetExhausted>())
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other(BudgetExhausted));
        }
        let max = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Budgeted<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::exif::{Field, Rational, experimental::Writer};

    fn tiff(fields: &[Field]) -> Vec<u8> {
        let mut w = Writer::new();
        for f in fields {
            w.push_field(f);
        }
        let mut buf = io::Cursor::new(Vec::new());
        w.write(&mut buf, true).unwrap();
        buf.into_inner()
    }

    fn ascii(tag: Tag, s: &str) -> Field {
        Field { tag, ifd_num: In::PRIMARY, value: Value::Ascii(vec![s.as_bytes().to_vec()]) }
    }

    fn rationals(tag: Tag, v: &[(u32, u32)]) -> Field {
        Field {
            tag,
            ifd_num: In::PRIMARY,
            value: Value::Rational(v.iter().map(|&(n, d)| Rational::from((n, d))).collect()),
        }
    }

    #[test]
    fn southern_western_position_is_negative_and_below_sea_level_altitude_is_negative() {
        let raw = tiff(&[
            ascii(Tag::GPSLatitudeRef, "S"),
            rationals(Tag::GPSLatitude, &[(33, 1), (52, 1), (1234, 100)]),
            ascii(Tag::GPSLongitudeRef, "W"),
            rationals(Tag::GPSLongitude, &[(70, 1), (30, 1), (0, 1)]),
            rationals(Tag::GPSAltitude, &[(125, 10)]),
            Field { tag: Tag::GPSAltitudeRef, ifd_num: In::PRIMARY, value: Value::Byte(vec![1]) },
            rationals(Tag::GPSHPositioningError, &[(35, 10)]),
        ]);
        let gps = parse_tiff(raw).unwrap().summary.gps.unwrap();
        assert!((gps.lat - -(33.0 + 52.0 / 60.0 + 12.34 / 3600.0)).abs() < 1e-12);
        assert!((gps.lon - -70.5).abs() < 1e-12);
        assert_eq!(gps.altitude_m, Some(-12.5));
        assert_eq!(gps.h_positioning_error_m, Some(3.5));
    }

    #[test]
    fn zero_denominator_gps_is_unreadable_not_a_panic_or_infinity() {
        let raw = tiff(&[
            ascii(Tag::GPSLatitudeRef, "N"),
            rationals(Tag::GPSLatitude, &[(33, 0), (0, 1), (0, 1)]),
            ascii(Tag::GPSLongitudeRef, "E"),
            rationals(Tag::GPSLongitude, &[(70, 1), (0, 1), (0, 1)]),
        ]);
        let s = parse_tiff(raw).unwrap().summary;
        assert_eq!(s.gps, None);
        assert_eq!(s.unreadable, vec!["gps".to_string()]);
    }

    #[test]
    fn capture_time_with_offset_is_an_instant() {
        let raw = tiff(&[
            Field {
                tag: Tag::DateTimeOriginal,
                ifd_num: In::PRIMARY,
                value: Value::Ascii(vec![b"2024:05:06 14:30:15".to_vec()]),
            },
            ascii(Tag::OffsetTimeOriginal, "+08:00"),
        ]);
        let s = parse_tiff(raw).unwrap().summary;
        let at = s.captured_at().unwrap();
        assert_eq!(at.to_rfc3339(), "2024-05-06T14:30:15+08:00");
        assert_eq!(at.with_timezone(&Utc).to_rfc3339(), "2024-05-06T06:30:15+00:00");
    }

    #[test]
    fn control_characters_in_make_are_dropped() {
        let raw = tiff(&[ascii(Tag::Make, "EVIL\x1b[2J\u{7}CAM")]);
        assert_eq!(parse_tiff(raw).unwrap().summary.make.as_deref(), Some("EVIL[2JCAM"));
    }

    #[test]
    fn hostile_counts_and_offsets_are_a_typed_error() {
        let mut raw = tiff(&[ascii(Tag::Make, "HUAWEI"), ascii(Tag::Model, "P60 Pro")]);
        // First IFD entry: tag(2) type(2) count(4) offset(4) after the 8-byte header and 2-byte count.
        raw[14..18].copy_from_slice(&0x4000_0000u32.to_le_bytes());
        assert!(matches!(parse_tiff(raw.clone()), Err(EvidenceError::MaliciousExif { .. })));
        raw[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        assert!(matches!(parse_tiff(raw), Err(EvidenceError::MaliciousExif { .. })));
    }

    #[test]
    fn jpeg_segment_walk_stops_at_the_scan() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xDA, 0, 2];
        jpeg.extend_from_slice(&[0u8; 100]);
        let got = jpeg_exif_segment(&mut io::Cursor::new(jpeg)).ok().unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn budget_reader_fails_recognisably() {
        let mut r = Budgeted { inner: io::Cursor::new(vec![0u8; 100]), left: 10 };
        let mut buf = Vec::new();
        let e = r.read_to_end(&mut buf).unwrap_err();
        assert!(budget_exhausted(&e));
        assert_eq!(buf.len(), 10);
    }
}

//! EXIF as the camera wrote it: capture time with offset, GPS, make, model, orientation, and the
//! embedded thumbnail.
//!
//! Reading is lenient and bounded (docs/decisions/0004-refuse-or-flag.md). Genuine cameras and
//! common EXIF tools write blocks that break the letter of the standard — a next-IFD pointer on a
//! sub-IFD, an IFD reached twice, a GPS pointer into nowhere, a maker note cut short — and exiftool
//! and libjpeg read them anyway. So do we: kamadak-exif runs with `continue_on_error`, every field
//! that parses is kept, and what did not parse is named in [`ExifSummary::irregular`] (short
//! machine-readable codes), which becomes the `exif_irregular` flag. EXIF never refuses a photo:
//! only the media's own structure can (see `media`).
//!
//! Bounds whatever the file claims: for JPEG we walk the marker segments before the first scan (at
//! most [`JPEG_HEADER_BUDGET`] bytes) and hand the one APP1 `Exif` segment (≤ 64 KiB by
//! construction) to kamadak-exif; PNG and HEIF go through kamadak-exif's container readers over a
//! reader that refuses to serve more than [`CONTAINER_BUDGET`] bytes. kamadak-exif bounds-checks
//! every count and offset against the block it was given, visits each IFD once and at most 8 IFDs,
//! so a hostile block costs at most its own size. Values are reported as written, never "corrected".

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read, Seek, SeekFrom},
    path::Path,
};

use ::exif::{In, Reader, Tag, Value};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};

pub use super::gps::ExifGps;
use super::{CaptureFlag, EvidenceError, MediaType, gps::read_gps};

/// How far into a JPEG the EXIF segment is looked for. EXIF must precede the image data, and the
/// segments before it (JFIF, ICC profiles, MPF) are a few hundred KiB at most.
pub const JPEG_HEADER_BUDGET: u64 = 1 << 20;
/// Bytes a PNG or HEIF container parser may read while looking for EXIF.
pub const CONTAINER_BUDGET: u64 = 4 << 20;
/// Make and model are free text from the camera; longer values are cut to this many characters.
const MAX_TEXT_CHARS: usize = 64;
/// At most this many irregularity codes are kept: a hostile block could produce one per entry.
const MAX_IRREGULAR: usize = 16;

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
    /// Fields present but unreadable (`date_time_original`, `gps_latitude`, ...): recorded, not
    /// repaired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// How the block departs from the standard while still being read (`unexpected_next_ifd`,
    /// `already_visited_ifd_detected`, `gps_signed_negative`, ...). Quirks, not accusations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub irregular: Vec<String>,
}

impl ExifSummary {
    /// The capture instant when both DateTimeOriginal and its offset are known.
    pub fn captured_at(&self) -> Option<DateTime<FixedOffset>> {
        let local = self.date_time_original?;
        let offset = FixedOffset::east_opt(self.offset_minutes? * 60)?;
        offset.from_local_datetime(&local).single()
    }

    /// The flags this EXIF earns by itself: irregular structure, an implausible GPS position.
    /// (Unreadable fields and time disagreements are judged with the clocks, in `time`.)
    pub fn flags(&self) -> Vec<CaptureFlag> {
        let mut flags = Vec::new();
        if !self.irregular.is_empty() {
            flags.push(CaptureFlag::ExifIrregular { details: self.irregular.clone() });
        }
        if self.gps.as_ref().is_some_and(ExifGps::is_null_island) {
            flags.push(CaptureFlag::ExifGpsImplausible { reason: "null_island".into() });
        }
        flags
    }

    /// The EXIF position fit to compare with the platform fix: readable and not null island.
    pub fn comparable_position(&self) -> Option<(super::GeoPoint, Option<f64>)> {
        let gps = self.gps.as_ref().filter(|g| !g.is_null_island())?;
        Some((gps.position()?, gps.h_positioning_error_m))
    }

    fn note(&mut self, code: impl Into<String>) {
        let code = code.into();
        if self.irregular.len() < MAX_IRREGULAR && !self.irregular.contains(&code) {
            self.irregular.push(code);
        }
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
    read_exif_from(file, media).map_err(|e| EvidenceError::unreadable(path, e))
}

/// Reads EXIF from any seekable reader over the media's bytes: the source file, or the plaintext
/// of a sealed blob, so the manifest describes exactly the bytes that were hashed. Fails only when
/// the reader fails; whatever the EXIF looks like, it is read or named as irregular.
pub fn read_exif_from<R: Read + Seek>(reader: R, media: MediaType) -> io::Result<Option<ExifData>> {
    if !media.may_have_exif() {
        return Ok(None);
    }
    match media {
        MediaType::Jpeg => {
            let mut reader = BufReader::with_capacity(64 * 1024, reader);
            let Some(segment) = jpeg_exif_segment(&mut reader)? else { return Ok(None) };
            let mut data = parse_tiff(segment.tiff);
            if segment.truncated {
                data.summary.note("exif_segment_truncated");
            }
            Ok(Some(data))
        }
        _ => {
            let mut reader = BufReader::new(Budgeted { inner: reader, left: CONTAINER_BUDGET });
            match Reader::new().continue_on_error(true).read_from_container(&mut reader) {
                Ok(exif) => Ok(Some(summarise(exif, Vec::new()))),
                Err(::exif::Error::PartialResult(partial)) => {
                    let (exif, errors) = partial.into_inner();
                    Ok(Some(summarise(exif, errors)))
                }
                Err(::exif::Error::NotFound(_)) => Ok(None),
                Err(::exif::Error::Io(e)) if budget_exhausted(&e) => Ok(None),
                // The container parser hit the end of the file: the structure check, not EXIF,
                // decides whether the media is incomplete.
                Err(::exif::Error::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    Ok(Some(unreadable_block("container_ends_early")))
                }
                Err(::exif::Error::Io(e)) => Err(e),
                Err(e) => Ok(Some(unreadable_block(&format!("container_{}", code_of(&e))))),
            }
        }
    }
}

/// Parses a TIFF-structured EXIF block (what follows `Exif\0\0`), keeping every field that parses.
pub fn parse_tiff(raw: Vec<u8>) -> ExifData {
    match Reader::new().continue_on_error(true).read_raw(raw) {
        Ok(exif) => summarise(exif, Vec::new()),
        Err(::exif::Error::PartialResult(partial)) => {
            let (exif, errors) = partial.into_inner();
            summarise(exif, errors)
        }
        // Not even a TIFF header: nothing to keep, and the photo itself may be fine.
        Err(e) => unreadable_block(&code_of(&e)),
    }
}

fn unreadable_block(code: &str) -> ExifData {
    let mut summary = ExifSummary::default();
    summary.note(code);
    ExifData { summary, thumbnail: None }
}

fn summarise(exif: ::exif::Exif, errors: Vec<::exif::Error>) -> ExifData {
    let mut summary = ExifSummary::default();
    for e in &errors {
        summary.note(code_of(e));
    }
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
    let gps = read_gps(&field);
    summary.gps = gps.gps;
    summary.unreadable.extend(gps.unreadable.into_iter().map(String::from));
    for code in gps.irregular {
        summary.note(code);
    }

    let thumbnail = embedded_thumbnail(&exif);
    summary.has_thumbnail = thumbnail.is_some();
    ExifData { summary, thumbnail }
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

/// A short, stable, machine-readable code for a kamadak-exif error: its message in snake case
/// (`Unexpected next IFD` → `unexpected_next_ifd`). Never contains EXIF content.
fn code_of(e: &::exif::Error) -> String {
    let text = match e {
        ::exif::Error::InvalidFormat(why) | ::exif::Error::NotSupported(why) => (*why).to_string(),
        ::exif::Error::NotFound(_) => "not_found".into(),
        ::exif::Error::Io(_) => "unreadable".into(),
        ::exif::Error::BlankValue(_) => "blank_value".into(),
        ::exif::Error::TooBig(_) => "too_big".into(),
        ::exif::Error::PartialResult(_) => "partial_result".into(),
        _ => "other".into(),
    };
    let mut code = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c.to_ascii_lowercase());
        } else if !code.ends_with('_') && !code.is_empty() {
            code.push('_');
        }
    }
    code.trim_end_matches('_').chars().take(48).collect()
}

/// The APP1 `Exif` payload found by [`jpeg_exif_segment`].
struct ExifSegment {
    tiff: Vec<u8>,
    /// The file ended inside the segment; `tiff` holds what was there.
    truncated: bool,
}

/// Reads one byte; `None` at the end of the input.
fn next_byte<R: BufRead>(r: &mut R) -> io::Result<Option<u8>> {
    let b = match r.fill_buf()? {
        [] => return Ok(None),
        [b, ..] => *b,
    };
    r.consume(1);
    Ok(Some(b))
}

/// Walks JPEG marker segments up to the first scan and returns the TIFF bytes of the first APP1
/// `Exif` segment. Stray bytes between segments are skipped as libjpeg skips them. Reads at most
/// [`JPEG_HEADER_BUDGET`] bytes and never allocates more than one segment (≤ 65,533 bytes).
fn jpeg_exif_segment<R: BufRead + Seek>(r: &mut R) -> io::Result<Option<ExifSegment>> {
    if next_byte(r)? != Some(0xFF) || next_byte(r)? != Some(0xD8) {
        return Ok(None);
    }
    let mut pos: u64 = 2;
    while pos < JPEG_HEADER_BUDGET {
        // Find the next marker: 0xFF (any number of fill bytes) and a code that is not 0 or 0xFF.
        let Some(b) = next_byte(r)? else { return Ok(None) };
        pos += 1;
        if b != 0xFF {
            continue;
        }
        let mut code = 0xFF;
        while code == 0xFF {
            let Some(b) = next_byte(r)? else { return Ok(None) };
            pos += 1;
            code = b;
        }
        match code {
            0xD8..=0xDA => return Ok(None),
            0x00 | 0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let (Some(hi), Some(lo)) = (next_byte(r)?, next_byte(r)?) else { return Ok(None) };
        let Some(body) = u16::from_be_bytes([hi, lo]).checked_sub(2) else { return Ok(None) };
        pos += 2 + u64::from(body);
        if code == 0xE1 {
            let mut seg = Vec::with_capacity(usize::from(body));
            r.by_ref().take(u64::from(body)).read_to_end(&mut seg)?;
            let truncated = seg.len() < usize::from(body);
            if let Some(tiff) = seg.strip_prefix(b"Exif\0\0") {
                return Ok(Some(ExifSegment { tiff: tiff.to_vec(), truncated }));
            }
            if truncated {
                return Ok(None);
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
        let gps = parse_tiff(raw).summary.gps.unwrap();
        assert!((gps.lat.unwrap() - -(33.0 + 52.0 / 60.0 + 12.34 / 3600.0)).abs() < 1e-12);
        assert!((gps.lon.unwrap() - -70.5).abs() < 1e-12);
        assert_eq!(gps.altitude_m, Some(-12.5));
        assert_eq!(gps.h_positioning_error_m, Some(3.5));
    }

    #[test]
    fn zero_denominator_latitude_is_unreadable_not_a_panic_or_infinity() {
        let raw = tiff(&[
            ascii(Tag::GPSLatitudeRef, "N"),
            rationals(Tag::GPSLatitude, &[(33, 0), (0, 1), (0, 1)]),
            ascii(Tag::GPSLongitudeRef, "E"),
            rationals(Tag::GPSLongitude, &[(70, 1), (0, 1), (0, 1)]),
        ]);
        let s = parse_tiff(raw).summary;
        assert_eq!(s.gps, None);
        assert_eq!(s.unreadable, vec!["gps_latitude".to_string()]);
    }

    #[test]
    fn null_island_is_flagged_and_never_compared() {
        let raw = tiff(&[
            ascii(Tag::GPSLatitudeRef, "N"),
            rationals(Tag::GPSLatitude, &[(0, 1), (0, 1), (0, 1)]),
            ascii(Tag::GPSLongitudeRef, "E"),
            rationals(Tag::GPSLongitude, &[(0, 1), (0, 1), (0, 1)]),
        ]);
        let s = parse_tiff(raw).summary;
        assert_eq!(s.gps.as_ref().unwrap().lat, Some(0.0), "recorded as written");
        assert_eq!(s.comparable_position(), None);
        assert_eq!(s.flags(), vec![CaptureFlag::ExifGpsImplausible { reason: "null_island".into() }]);
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
        let s = parse_tiff(raw).summary;
        let at = s.captured_at().unwrap();
        assert_eq!(at.to_rfc3339(), "2024-05-06T14:30:15+08:00");
        assert_eq!(at.with_timezone(&chrono::Utc).to_rfc3339(), "2024-05-06T06:30:15+00:00");
    }

    #[test]
    fn control_characters_in_make_are_dropped() {
        let raw = tiff(&[ascii(Tag::Make, "EVIL\x1b[2J\u{7}CAM")]);
        assert_eq!(parse_tiff(raw).summary.make.as_deref(), Some("EVIL[2JCAM"));
    }

    #[test]
    fn hostile_counts_and_offsets_keep_what_parses_and_are_named() {
        let mut raw = tiff(&[ascii(Tag::Make, "HUAWEI"), ascii(Tag::Model, "P60 Pro")]);
        // First IFD entry: tag(2) type(2) count(4) offset(4) after the 8-byte header and 2-byte count.
        raw[14..18].copy_from_slice(&0x4000_0000u32.to_le_bytes());
        let s = parse_tiff(raw.clone()).summary;
        assert_eq!(s.make, None, "the broken field is dropped");
        assert_eq!(s.model.as_deref(), Some("P60 Pro"), "the rest is kept");
        assert_eq!(s.irregular, vec!["truncated_field_value".to_string()]);
        raw[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        let s = parse_tiff(raw).summary;
        assert_eq!(s.irregular, vec!["truncated_ifd_count".to_string()]);
        raw = b"II\x2b\0garbage".to_vec();
        assert_eq!(parse_tiff(raw).summary.irregular, vec!["invalid_forty_two".to_string()]);
    }

    #[test]
    fn irregularity_codes_are_snake_case_and_short() {
        assert_eq!(code_of(&::exif::Error::InvalidFormat("Unexpected next IFD")), "unexpected_next_ifd");
        assert_eq!(
            code_of(&::exif::Error::InvalidFormat("Already visited IFD detected")),
            "already_visited_ifd_detected"
        );
        assert_eq!(
            code_of(&::exif::Error::InvalidFormat("Limit the IFD count to 8")),
            "limit_the_ifd_count_to_8"
        );
    }

    #[test]
    fn jpeg_segment_walk_stops_at_the_scan() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xDA, 0, 2];
        jpeg.extend_from_slice(&[0u8; 100]);
        let got = jpeg_exif_segment(&mut io::Cursor::new(jpeg)).unwrap();
        assert!(got.is_none());
    }

    #[test]
    fn jpeg_segment_walk_skips_stray_bytes_and_keeps_a_cut_segment() {
        let body = tiff(&[ascii(Tag::Make, "OPPO")]);
        let mut jpeg = vec![0xFF, 0xD8, 0x00, 0x17, 0xFF, 0xE1];
        jpeg.extend_from_slice(&((body.len() + 8) as u16).to_be_bytes());
        jpeg.extend_from_slice(b"Exif\0\0");
        jpeg.extend_from_slice(&body);
        let got = jpeg_exif_segment(&mut io::Cursor::new(jpeg.clone())).unwrap().unwrap();
        assert!(!got.truncated);
        assert_eq!(parse_tiff(got.tiff).summary.make.as_deref(), Some("OPPO"));
        jpeg.truncate(jpeg.len() - 3);
        assert!(jpeg_exif_segment(&mut io::Cursor::new(jpeg)).unwrap().unwrap().truncated);
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

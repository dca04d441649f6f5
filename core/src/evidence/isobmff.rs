//! ISO-BMFF / QuickTime structure (HEIC, HEIF, AVIF, MP4, MOV, 3GP, M4A), checked as the bytes
//! stream past, as strictly as the JPEG check.
//!
//! Top level: a file is a sequence of boxes `size(4) type(4) [largesize(8)] body`; the sizes must
//! add up to the file (a `size` of 0 means "to the end of the file"). A box that runs past the end
//! means the file was cut short, and it is refused as truncated. Inside, the one box that says where
//! the media data lies is kept (bounded) and checked when the stream ends:
//! - HEIF (`meta`): every `iloc` extent must lie inside the file (or its `idat`), so a HEIC cut
//!   after its header but inside its `mdat` is refused as truncated, not accepted as complete;
//! - movies (`moov`): the movie box must exist (a camera writes it when recording stops) and every
//!   chunk offset (`stco`/`co64`) must lie inside the file. Its `mvhd` creation time and duration,
//!   the `©xyz` location (ISO 6709) and Apple's `com.apple.quicktime.location.ISO6709` /
//!   `creationdate` keys are read for the manifest.
//!
//! Bytes after the last box that are not a box at all (vendor trailers) are sealed and named as
//! irregular; a structure that cannot be followed before the media data was located is corrupt.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::EvidenceError;

/// Most bytes of a `meta` (HEIF) box kept for the `iloc` check: a 48 MP HEIC's grid of 48 tiles
/// needs a few KiB.
const META_CAP: u64 = 4 << 20;
/// Most bytes of a `moov` box kept: an hour of 4K video has a `moov` of a few MiB.
const MOOV_CAP: u64 = 8 << 20;
/// Seconds from 1904-01-01 (the ISO-BMFF epoch) to 1970-01-01.
const EPOCH_1904_TO_UNIX: i64 = 2_082_844_800;

/// What a movie container says about itself, recorded in the manifest as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MovieSummary {
    /// `mvhd` creation time (UTC by definition); absent when the writer left it 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_utc: Option<DateTime<Utc>>,
    /// Apple's `com.apple.quicktime.creationdate`, which carries the local offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<DateTime<FixedOffset>>,
    /// `mvhd` duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// The location atom (`©xyz`) or Apple's ISO 6709 key, WGS-84.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<ContainerLocation>,
}

/// An ISO 6709 position as a container wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ContainerLocation {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude_m: Option<f64>,
}

/// Which box the check keeps and what it expects of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BmffKind {
    Heif,
    Movie,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a box header: `have` of `need` bytes (8, or 16 with a largesize).
    Header {
        have: usize,
        need: usize,
    },
    Body {
        fourcc: [u8; 4],
        remaining: u64,
        keep: bool,
    },
    /// A size-0 box: everything to the end of the file belongs to it.
    ToEnd {
        keep: bool,
    },
    /// Bytes after the last box that are not boxes.
    Trailer,
    Broken(&'static str),
}

/// The streaming check. Feed every byte in order, then [`BmffStructure::finish`].
#[derive(Debug)]
pub struct BmffStructure {
    kind: BmffKind,
    /// The media's name for messages (`HEIC`, `MP4`).
    label: &'static str,
    state: State,
    header: [u8; 16],
    consumed: u64,
    kept: Option<Vec<u8>>,
    kept_complete: bool,
    boxes: u64,
    irregular: Vec<String>,
}

/// What the check found besides the verdict.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BmffReport {
    pub irregular: Vec<String>,
    pub movie: Option<MovieSummary>,
}

impl BmffStructure {
    pub fn new(kind: BmffKind, label: &'static str) -> Self {
        Self {
            kind,
            label,
            state: State::Header { have: 0, need: 8 },
            header: [0; 16],
            consumed: 0,
            kept: None,
            kept_complete: false,
            boxes: 0,
            irregular: Vec::new(),
        }
    }

    fn key_box(&self) -> &'static [u8; 4] {
        match self.kind {
            BmffKind::Heif => b"meta",
            BmffKind::Movie => b"moov",
        }
    }

    fn note(&mut self, code: &str) {
        if self.irregular.len() < 16 && !self.irregular.iter().any(|c| c == code) {
            self.irregular.push(code.to_string());
        }
    }

    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                State::Broken(_) | State::Trailer => {
                    self.consumed += data.len() as u64;
                    return;
                }
                State::ToEnd { keep } => {
                    if keep {
                        self.keep(data);
                    }
                    self.consumed += data.len() as u64;
                    return;
                }
                State::Header { have, need } => {
                    let n = (need - have).min(data.len());
                    self.header[have..have + n].copy_from_slice(&data[..n]);
                    data = &data[n..];
                    self.consumed += n as u64;
                    self.state = State::Header { have: have + n, need };
                    if have + n == need {
                        self.header_complete(need);
                    }
                }
                State::Body { fourcc, remaining, keep } => {
                    let n = usize::try_from(remaining).unwrap_or(usize::MAX).min(data.len());
                    if keep {
                        self.keep(&data[..n]);
                    }
                    data = &data[n..];
                    self.consumed += n as u64;
                    let left = remaining - n as u64;
                    self.state = if left > 0 {
                        State::Body { fourcc, remaining: left, keep }
                    } else {
                        if keep {
                            self.kept_complete = true;
                        }
                        State::Header { have: 0, need: 8 }
                    };
                }
            }
        }
    }

    fn keep(&mut self, data: &[u8]) {
        if let Some(kept) = self.kept.as_mut() {
            kept.extend_from_slice(data);
        }
    }

    fn header_complete(&mut self, need: usize) {
        let size = u32::from_be_bytes([self.header[0], self.header[1], self.header[2], self.header[3]]);
        let fourcc = [self.header[4], self.header[5], self.header[6], self.header[7]];
        if !fourcc.iter().all(|b| (0x20..=0x7E).contains(b) || *b == 0xA9) {
            // Not a box. After the media was located this is a vendor trailer; before, the file is
            // not the ISO media it claims to be.
            if self.kept_complete {
                self.note("bmff_trailing_data");
                self.state = State::Trailer;
            } else {
                self.state = State::Broken("a top-level box has no valid type");
            }
            return;
        }
        let (header_len, total) = match size {
            0 => (8u64, None),
            1 if need == 8 => {
                self.state = State::Header { have: 8, need: 16 };
                return;
            }
            1 => {
                let mut large = [0u8; 8];
                large.copy_from_slice(&self.header[8..16]);
                (16, Some(u64::from_be_bytes(large)))
            }
            n => (8, Some(u64::from(n))),
        };
        self.boxes += 1;
        if self.boxes == 1 && &fourcc != b"ftyp" && self.kind == BmffKind::Heif {
            self.state = State::Broken("HEIF does not start with its file type box");
            return;
        }
        let is_key = &fourcc == self.key_box() && self.kept.is_none();
        match total {
            None => {
                let keep = is_key;
                if keep {
                    self.kept = Some(Vec::new());
                }
                self.state = State::ToEnd { keep };
            }
            Some(total) if total < header_len => {
                if self.kept_complete {
                    self.note("bmff_trailing_data");
                    self.state = State::Trailer;
                } else {
                    self.state = State::Broken("a box is smaller than its own header");
                }
            }
            Some(total) => {
                let body = total - header_len;
                let cap = if self.kind == BmffKind::Heif { META_CAP } else { MOOV_CAP };
                let keep = is_key && body <= cap;
                if is_key && !keep {
                    let code = format!("{}_too_large_to_check", String::from_utf8_lossy(&fourcc));
                    self.note(&code);
                }
                if keep {
                    // Grows as bytes arrive: a header's claim alone never allocates.
                    self.kept = Some(Vec::new());
                }
                self.state = if body == 0 {
                    if keep {
                        self.kept_complete = true;
                    }
                    State::Header { have: 0, need: 8 }
                } else {
                    State::Body { fourcc, remaining: body, keep }
                };
            }
        }
    }

    /// The verdict once every byte was fed, with what was found.
    pub fn finish(self) -> Result<BmffReport, EvidenceError> {
        let media = self.label;
        let total = self.consumed;
        let truncated = |reason: String| EvidenceError::Truncated { media, reason };
        let mut irregular = self.irregular.clone();
        match self.state {
            State::Broken(reason) => {
                return Err(EvidenceError::Corrupt { media, reason: reason.to_string() });
            }
            State::Header { have: 0, .. } | State::Trailer => {}
            // A box running to the end of the file is complete by definition.
            State::ToEnd { .. } => {}
            State::Header { have, .. } => {
                if self.header[..have].iter().all(|&b| b == 0) && self.kept_complete {
                    irregular.push("bmff_trailing_zeros".into());
                } else {
                    return Err(truncated(format!("ends inside a box header after {total} bytes")));
                }
            }
            State::Body { fourcc, remaining, .. } => {
                return Err(truncated(format!(
                    "box '{}' needs {remaining} more bytes than the file holds ({total} bytes)",
                    String::from_utf8_lossy(&fourcc)
                )));
            }
        }
        let kept_whole = self.kept_complete || matches!(self.state, State::ToEnd { keep: true });
        let too_large = irregular.iter().any(|c| c.ends_with("_too_large_to_check"));
        let kept = if kept_whole { self.kept.as_deref() } else { None };
        match (self.kind, kept) {
            (_, None) if too_large => Ok(BmffReport { irregular, movie: None }),
            // Only the file type box: the file ends where its header should begin.
            (BmffKind::Heif, None) if self.boxes <= 1 => Err(truncated("ends before its meta box".into())),
            (BmffKind::Heif, None) => {
                Err(EvidenceError::Corrupt { media, reason: "no meta box: not a HEIF image".into() })
            }
            (BmffKind::Movie, None) => {
                Err(truncated("no movie box (moov): the recording was not finished".into()))
            }
            (BmffKind::Heif, Some(meta)) => {
                check_heif_items(meta, total).map_err(truncated)?;
                Ok(BmffReport { irregular, movie: None })
            }
            (BmffKind::Movie, Some(moov)) => {
                let movie = read_movie(moov, total, &mut irregular).map_err(truncated)?;
                Ok(BmffReport { irregular, movie: Some(movie) })
            }
        }
    }
}

/// The children of a box body: `(type, body)`, or an error when a size does not fit.
fn children(mut data: &[u8]) -> impl Iterator<Item = Result<([u8; 4], &[u8]), ()>> {
    std::iter::from_fn(move || {
        if data.len() < 8 {
            return None;
        }
        let size = u64::from(u32::from_be_bytes([data[0], data[1], data[2], data[3]]));
        let fourcc = [data[4], data[5], data[6], data[7]];
        let (header, total) = match size {
            0 => (8, data.len() as u64),
            1 if data.len() >= 16 => {
                let mut l = [0u8; 8];
                l.copy_from_slice(&data[8..16]);
                (16, u64::from_be_bytes(l))
            }
            n => (8, n),
        };
        if total < header || total > data.len() as u64 {
            data = &[];
            return Some(Err(()));
        }
        let (this, rest) = data.split_at(total as usize);
        data = rest;
        Some(Ok((fourcc, &this[header as usize..])))
    })
}

fn child<'a>(data: &'a [u8], fourcc: &[u8; 4]) -> Option<&'a [u8]> {
    children(data).filter_map(Result::ok).find(|(t, _)| t == fourcc).map(|(_, b)| b)
}

/// A big-endian reader over a box body that never panics.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.data.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    /// An unsigned integer of `n` bytes (0, 4 or 8 in `iloc`; any width up to 8 here).
    fn uint(&mut self, n: usize) -> Option<u64> {
        if n > 8 {
            return None;
        }
        Some(self.bytes(n)?.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
    }

    fn u8(&mut self) -> Option<u8> {
        self.uint(1).map(|v| v as u8)
    }
    fn u16(&mut self) -> Option<u16> {
        self.uint(2).map(|v| v as u16)
    }
    fn u32(&mut self) -> Option<u32> {
        self.uint(4).map(|v| v as u32)
    }
}

/// Every `iloc` extent of a HEIF `meta` box must lie inside the file (construction method 0) or
/// the `idat` box (method 1). `Err` names the first one that does not.
fn check_heif_items(meta: &[u8], file_len: u64) -> Result<(), String> {
    let body = meta.get(4..).unwrap_or(&[]); // FullBox version and flags
    let Some(iloc) = child(body, b"iloc") else {
        return Err("the meta box has no item locations (iloc)".into());
    };
    let idat_len = child(body, b"idat").map_or(0, |d| d.len() as u64);
    let bad = || "the item locations (iloc) end early".to_string();
    let mut c = Cursor::new(iloc);
    let version = c.u8().ok_or_else(bad)?;
    c.bytes(3).ok_or_else(bad)?;
    let sizes = c.u16().ok_or_else(bad)?;
    let (offset_size, length_size, base_size) =
        (usize::from(sizes >> 12), usize::from(sizes >> 8 & 0xF), usize::from(sizes >> 4 & 0xF));
    let index_size = if version >= 1 { usize::from(sizes & 0xF) } else { 0 };
    let items = if version < 2 { c.u16().map(u32::from) } else { c.u32() }.ok_or_else(bad)?;
    for _ in 0..items {
        let item_id = if version < 2 { c.u16().map(u32::from) } else { c.u32() }.ok_or_else(bad)?;
        let method = if version >= 1 { c.u16().ok_or_else(bad)? & 0xF } else { 0 };
        c.u16().ok_or_else(bad)?; // data_reference_index
        let base = c.uint(base_size).ok_or_else(bad)?;
        let extents = c.u16().ok_or_else(bad)?;
        for _ in 0..extents {
            if index_size > 0 {
                c.uint(index_size).ok_or_else(bad)?;
            }
            let offset = c.uint(offset_size).ok_or_else(bad)?;
            let length = c.uint(length_size).ok_or_else(bad)?;
            let limit = match method {
                0 => file_len,
                1 => idat_len,
                // Method 2 points into another item, which is itself checked.
                _ => continue,
            };
            let start = base.checked_add(offset).ok_or_else(bad)?;
            // Length 0 means "to the end": complete as long as it starts inside.
            let end = if length == 0 { start } else { start.checked_add(length).ok_or_else(bad)? };
            if end > limit || start > limit {
                return Err(format!(
                    "image item {item_id} needs bytes up to {end} but the {} holds {limit}",
                    if method == 0 { "file" } else { "idat box" }
                ));
            }
        }
    }
    Ok(())
}

/// Reads the movie header, location and chunk offsets from a `moov` body.
fn read_movie(moov: &[u8], file_len: u64, irregular: &mut Vec<String>) -> Result<MovieSummary, String> {
    let mut movie = MovieSummary::default();
    if let Some(mvhd) = child(moov, b"mvhd") {
        let mut c = Cursor::new(mvhd);
        let version = c.u8().unwrap_or(0);
        let parsed = c.bytes(3).and_then(|_| {
            let w = if version == 1 { 8 } else { 4 };
            let created = c.uint(w)?;
            c.uint(w)?;
            let timescale = c.u32()?;
            let duration = c.uint(w)?;
            Some((created, timescale, duration))
        });
        match parsed {
            Some((created, timescale, duration)) => {
                movie.created_utc = i64::try_from(created)
                    .ok()
                    .filter(|&s| s > 0)
                    .and_then(|s| Utc.timestamp_opt(s - EPOCH_1904_TO_UNIX, 0).single());
                // All ones means "unknown" in version 0 and 1 alike.
                let unknown = duration == u64::from(u32::MAX) || duration == u64::MAX;
                if timescale > 0 && !unknown {
                    movie.duration_s = Some(duration as f64 / f64::from(timescale));
                }
            }
            None => irregular.push("mvhd_unreadable".into()),
        }
    } else {
        irregular.push("mvhd_missing".into());
    }
    if let Some(xyz) = child(moov, b"udta").and_then(|u| child(u, b"\xA9xyz")) {
        let text = xyz.get(4..).and_then(|t| {
            let len = usize::from(u16::from_be_bytes([xyz[0], xyz[1]]));
            t.get(..len.min(t.len()))
        });
        match text.and_then(parse_iso6709) {
            Some(loc) => movie.location = Some(loc),
            None => irregular.push("location_unreadable".into()),
        }
    }
    // 3GPP `loci` (ffmpeg writes it for MP4 and 3GP): 16.16 fixed-point degrees and metres.
    if movie.location.is_none() {
        if let Some(loci) = child(moov, b"udta").and_then(|u| child(u, b"loci")) {
            match parse_loci(loci) {
                Some(loc) => movie.location = Some(loc),
                None => irregular.push("location_unreadable".into()),
            }
        }
    }
    read_apple_keys(moov, &mut movie, irregular);
    for trak in children(moov).filter_map(Result::ok).filter(|(t, _)| t == b"trak") {
        let stbl = child(trak.1, b"mdia").and_then(|m| child(m, b"minf")).and_then(|m| child(m, b"stbl"));
        let Some(stbl) = stbl else { continue };
        for (fourcc, width) in [(b"stco", 4usize), (b"co64", 8)] {
            let Some(table) = child(stbl, fourcc) else { continue };
            let mut c = Cursor::new(table);
            let count = c.bytes(4).and_then(|_| c.u32()).unwrap_or(0);
            for _ in 0..count {
                let Some(offset) = c.uint(width) else {
                    irregular.push("chunk_offsets_unreadable".into());
                    break;
                };
                if offset >= file_len {
                    return Err(format!(
                        "a track's media data starts at byte {offset} but the file holds {file_len}"
                    ));
                }
            }
        }
    }
    Ok(movie)
}

/// Apple's `moov/meta` with `keys` and `ilst`: the ISO 6709 location and the creation date.
fn read_apple_keys(moov: &[u8], movie: &mut MovieSummary, irregular: &mut Vec<String>) {
    let Some(meta) = child(moov, b"meta") else { return };
    // QuickTime's meta has no version/flags; ISO's does. The first child tells which.
    let meta = if meta.get(4..8) == Some(b"hdlr") { meta } else { meta.get(4..).unwrap_or(&[]) };
    let (Some(keys), Some(ilst)) = (child(meta, b"keys"), child(meta, b"ilst")) else { return };
    let mut names = Vec::new();
    let mut c = Cursor::new(keys);
    let count = c.bytes(4).and_then(|_| c.u32()).unwrap_or(0);
    for _ in 0..count.min(1024) {
        let Some(size) = c.u32().and_then(|s| usize::try_from(s).ok()) else { break };
        let Some(entry) = size.checked_sub(4).and_then(|n| c.bytes(n)) else { break };
        names.push(entry.get(4..).unwrap_or(&[]));
    }
    for (index, item) in children(ilst).filter_map(Result::ok) {
        let Some(name) = (u32::from_be_bytes(index) as usize).checked_sub(1).and_then(|i| names.get(i))
        else {
            continue;
        };
        let Some(value) = child(item, b"data").and_then(|d| d.get(8..)) else { continue };
        match *name {
            b"com.apple.quicktime.location.ISO6709" => match parse_iso6709(value) {
                Some(loc) if movie.location.is_none() => movie.location = Some(loc),
                Some(_) => {}
                None => irregular.push("location_unreadable".into()),
            },
            b"com.apple.quicktime.creationdate" => {
                let text = String::from_utf8_lossy(value);
                match DateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S%z") {
                    Ok(t) => movie.creation_date = Some(t),
                    Err(_) => irregular.push("creation_date_unreadable".into()),
                }
            }
            _ => {}
        }
    }
}

/// A 3GPP TS 26.244 `loci` body: version/flags, language, a NUL-terminated name, role, then
/// longitude, latitude and altitude as signed 16.16 fixed point.
fn parse_loci(body: &[u8]) -> Option<ContainerLocation> {
    let rest = body.get(6..)?;
    let name_end = rest.iter().position(|&b| b == 0)?;
    let mut c = Cursor::new(rest.get(name_end + 2..)?);
    let fixed = |v: u32| f64::from(v as i32) / 65536.0;
    let lon = fixed(c.u32()?);
    let lat = fixed(c.u32()?);
    let altitude_m = c.u32().map(fixed);
    (lat.abs() <= 90.0 && lon.abs() <= 180.0).then_some(ContainerLocation { lat, lon, altitude_m })
}

/// `±DD.DDDD±DDD.DDDD[±AAA.AAA][CRS…]/` (ISO 6709 Annex H, decimal degrees) as written by
/// ffmpeg, Android and iOS.
pub fn parse_iso6709(raw: &[u8]) -> Option<ContainerLocation> {
    let text = std::str::from_utf8(raw).ok()?.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    let text = text.strip_suffix('/').unwrap_or(text);
    let mut numbers = Vec::new();
    let mut start = None;
    for (i, ch) in text.char_indices() {
        if ch == '+' || ch == '-' {
            if let Some(s) = start {
                numbers.push(&text[s..i]);
            }
            start = Some(i);
        } else if !(ch.is_ascii_digit() || ch == '.') {
            // A coordinate reference system suffix ("CRSWGS_84") ends the numbers.
            break;
        }
    }
    let end =
        text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(text.len());
    if let Some(s) = start.filter(|&s| s < end) {
        numbers.push(&text[s..end]);
    }
    let parse = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    let lat = parse(numbers.first()?)?;
    let lon = parse(numbers.get(1)?)?;
    if lat.abs() > 90.0 || lon.abs() > 180.0 {
        return None;
    }
    let altitude_m = numbers.get(2).and_then(|s| parse(s));
    Some(ContainerLocation { lat, lon, altitude_m })
}

/// A `mvhd` creation time for a test: seconds since 1904.
#[cfg(test)]
fn mp4_time(t: DateTime<Utc>) -> u32 {
    (t.timestamp() + EPOCH_1904_TO_UNIX) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(fourcc: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(fourcc);
        v.extend_from_slice(body);
        v
    }

    fn full(version: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![version, 0, 0, 0];
        v.extend_from_slice(body);
        v
    }

    /// ftyp, meta with one item of `len` bytes at `offset`, then an mdat of `mdat_len` bytes.
    fn heic(mdat_len: usize) -> Vec<u8> {
        let ftyp = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
        let placeholder_meta = |offset: u32| {
            let mut iloc = vec![0x44, 0x00]; // offset_size 4, length_size 4, base 0
            iloc.extend_from_slice(&1u16.to_be_bytes()); // one item
            iloc.extend_from_slice(&1u16.to_be_bytes()); // item id
            iloc.extend_from_slice(&0u16.to_be_bytes()); // data reference
            iloc.extend_from_slice(&1u16.to_be_bytes()); // one extent
            iloc.extend_from_slice(&offset.to_be_bytes());
            iloc.extend_from_slice(&(mdat_len as u32).to_be_bytes());
            bx(b"meta", &full(0, &bx(b"iloc", &full(0, &iloc))))
        };
        let meta_len = placeholder_meta(0).len();
        let offset = (ftyp.len() + meta_len + 8) as u32;
        let mut v = ftyp;
        v.extend_from_slice(&placeholder_meta(offset));
        v.extend_from_slice(&bx(b"mdat", &vec![0x5A; mdat_len]));
        v
    }

    fn check(kind: BmffKind, bytes: &[u8], chunk: usize) -> Result<BmffReport, EvidenceError> {
        let mut s = BmffStructure::new(kind, "test");
        for c in bytes.chunks(chunk) {
            s.feed(c);
        }
        s.finish()
    }

    #[test]
    fn a_complete_heic_passes_in_any_chunking() {
        let file = heic(1000);
        for chunk in [1, 7, 64, 4096] {
            check(BmffKind::Heif, &file, chunk).unwrap();
        }
    }

    #[test]
    fn every_cut_of_a_heic_is_truncated_never_corrupt_or_accepted() {
        let file = heic(300);
        for keep in 1..file.len() {
            match check(BmffKind::Heif, &file[..keep], 97) {
                Err(EvidenceError::Truncated { .. }) => {}
                other => panic!("kept {keep} of {}: {other:?}", file.len()),
            }
        }
    }

    #[test]
    fn an_item_past_the_end_is_truncated_even_when_boxes_add_up() {
        // The mdat says to-the-end (size 0) but holds less than the item needs.
        let mut file = heic(300);
        let mdat_at = file.len() - 308;
        file[mdat_at..mdat_at + 4].copy_from_slice(&0u32.to_be_bytes());
        file.truncate(file.len() - 100);
        assert!(matches!(check(BmffKind::Heif, &file, 64), Err(EvidenceError::Truncated { .. })));
    }

    #[test]
    fn a_movie_without_moov_is_truncated_and_a_trailer_after_it_is_irregular() {
        let ftyp = bx(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
        let mut mvhd = full(0, &[]);
        let created = Utc.with_ymd_and_hms(2024, 5, 6, 6, 30, 14).unwrap();
        mvhd.extend_from_slice(&mp4_time(created).to_be_bytes());
        mvhd.extend_from_slice(&mp4_time(created).to_be_bytes());
        mvhd.extend_from_slice(&1000u32.to_be_bytes());
        mvhd.extend_from_slice(&2500u32.to_be_bytes());
        let mut xyz = 18u16.to_be_bytes().to_vec();
        xyz.extend_from_slice(&0x15C7u16.to_be_bytes());
        xyz.extend_from_slice(b"+30.2741+120.1551/");
        let moov = bx(b"moov", &[bx(b"mvhd", &mvhd), bx(b"udta", &bx(b"\xA9xyz", &xyz))].concat());
        let mdat = bx(b"mdat", &[1u8; 500]);

        let no_moov = [ftyp.clone(), mdat.clone()].concat();
        assert!(matches!(check(BmffKind::Movie, &no_moov, 100), Err(EvidenceError::Truncated { .. })));

        let mut whole = [ftyp, mdat, moov].concat();
        let r = check(BmffKind::Movie, &whole, 33).unwrap();
        let movie = r.movie.unwrap();
        assert_eq!(movie.created_utc, Some(created));
        assert_eq!(movie.duration_s, Some(2.5));
        assert_eq!(movie.location, Some(ContainerLocation { lat: 30.2741, lon: 120.1551, altitude_m: None }));
        assert!(r.irregular.is_empty());

        whole.extend_from_slice(b"\x00\x00\x00\x10SEFT\xFF\xFF");
        whole.extend_from_slice(b"\xDE\xAD\xBE\xEF\x01\x02\x03\x04\x05");
        // "SEFT" is a valid type: its size runs past the end, so that is a cut, not a trailer...
        assert!(check(BmffKind::Movie, &whole, 33).is_err());
        // ...while bytes that are no box at all after the movie are sealed and named.
        let n = whole.len();
        whole[n - 13..n - 9].copy_from_slice(b"\x01\x02\x03\x04");
        let r = check(BmffKind::Movie, &whole, 33).unwrap();
        assert_eq!(r.irregular, vec!["bmff_trailing_data".to_string()]);
    }

    #[test]
    fn a_box_smaller_than_its_header_before_the_media_is_corrupt_not_truncated() {
        let mut file = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
        file.extend_from_slice(b"\x00\x00\x00\x03meta");
        file.extend_from_slice(&[0u8; 64]);
        assert!(matches!(check(BmffKind::Heif, &file, 16), Err(EvidenceError::Corrupt { .. })));
        // And a HEIF that does not start with its file type box is not HEIF.
        assert!(matches!(check(BmffKind::Heif, &heic(10)[24..], 16), Err(EvidenceError::Corrupt { .. })));
    }

    #[test]
    fn iso6709_with_and_without_altitude() {
        assert_eq!(
            parse_iso6709(b"+30.2741+120.1551+012.500/"),
            Some(ContainerLocation { lat: 30.2741, lon: 120.1551, altitude_m: Some(12.5) })
        );
        assert_eq!(
            parse_iso6709(b"-33.8688+151.2093/"),
            Some(ContainerLocation { lat: -33.8688, lon: 151.2093, altitude_m: None })
        );
        assert_eq!(parse_iso6709(b"garbage"), None);
        assert_eq!(parse_iso6709(b"+95.0+10.0/"), None);
    }
}

//! The zip container of a bundle: a small writer, and a strict reader that refuses anything that
//! could escape an output folder or expand without bound.
//!
//! The writer stores members uncompressed (photos and video are compressed already; a stored member
//! can be hashed and checked in place), UTF-8 names, a fixed 1980-01-01 timestamp so the same
//! content gives the same bytes, no zip64 (a member is at most 4 GiB - 1 in bundle v1).
//!
//! The reader accepts what common tools write when someone re-packs a bundle (stored or deflate
//! members, extra fields, a data descriptor, directory entries) but refuses, naming the member:
//! - names that are absolute, contain `..`, `.`, empty components, backslashes, drive letters,
//!   NUL or control characters, or that collide with another name (also ignoring case);
//! - symbolic links, encrypted members, zip64, multi-disk archives, methods other than stored/deflate;
//! - members whose data overlap or lie outside the archive (the overlapping-entries zip bomb);
//! - deflate members declaring more than [`Limits::max_ratio`] times their compressed size, archives
//!   declaring more than [`Limits::max_total`] in all, and any member that inflates past its
//!   declared size (checked while inflating, so nothing past the limit is ever produced).

use std::{
    collections::BTreeSet,
    io::{self, Read, Seek, SeekFrom, Write},
};

use ring::digest;

use super::BundleError;
use crate::crypto::column::hex;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
const EOCD_LEN: u64 = 22;
const FLAG_ENCRYPTED: u16 = 0x0001;
const FLAG_DESCRIPTOR: u16 = 0x0008;
const FLAG_UTF8: u16 = 0x0800;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;
/// DOS date 1980-01-01, time 00:00.
const DOS_DATE: u16 = 0x0021;
const MAX_NAME_BYTES: usize = 255;
const MAX_DEPTH: usize = 8;

/// What the reader is willing to accept.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_members: usize,
    /// Sum of all members' declared uncompressed sizes.
    pub max_total: u64,
    /// Declared uncompressed size ÷ compressed size, for deflate members.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_members: 10_000, max_total: 64 << 30, max_ratio: 200 }
    }
}

/// Checks a member name: relative, `/`-separated, no `.`/`..`/empty components, no backslash,
/// drive letter, NUL or control character, at most 255 bytes and 8 levels.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err("empty or longer than 255 bytes");
    }
    if name.starts_with('/') {
        return Err("absolute path");
    }
    if name.contains('\\') {
        return Err("backslash in the path");
    }
    if name.chars().any(char::is_control) {
        return Err("control character in the path");
    }
    if name.contains(':') {
        return Err("colon in the path (drive letter or stream name)");
    }
    let parts: Vec<&str> = name.trim_end_matches('/').split('/').collect();
    if parts.len() > MAX_DEPTH {
        return Err("nested too deeply");
    }
    for p in &parts {
        match *p {
            "" => return Err("empty path component"),
            "." | ".." => return Err("'.' or '..' path component (escapes the folder)"),
            _ => {}
        }
    }
    Ok(())
}

/// A member as listed in the central directory, after every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipMember {
    pub name: String,
    pub size: u64,
    compressed: u64,
    method: u16,
    crc32: u32,
    data_offset: u64,
}

/// A zip opened for reading; every member already passed the structural checks.
pub struct ZipReader<R: Read + Seek> {
    inner: R,
    members: Vec<ZipMember>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn structure(reason: impl Into<String>) -> BundleError {
    BundleError::Structure { reason: reason.into() }
}

fn member_error(name: &str, reason: impl Into<String>) -> BundleError {
    BundleError::Member { name: name.to_owned(), reason: reason.into() }
}

impl<R: Read + Seek> ZipReader<R> {
    pub fn open(mut inner: R, limits: Limits) -> Result<Self, BundleError> {
        let io = |e: io::Error| structure(format!("cannot read the file: {e}"));
        let file_len = inner.seek(SeekFrom::End(0)).map_err(io)?;
        if file_len < EOCD_LEN {
            return Err(structure("not a zip file (too short)"));
        }
        // The end record is in the last 22 + 65535 bytes (its comment is at most 65535).
        let tail_len = file_len.min(EOCD_LEN + 65_535);
        inner.seek(SeekFrom::Start(file_len - tail_len)).map_err(io)?;
        let mut tail = vec![0; tail_len as usize];
        inner.read_exact(&mut tail).map_err(io)?;
        let pos = (0..=tail.len() - EOCD_LEN as usize)
            .rev()
            .find(|&i| {
                u32_at(&tail, i) == END_SIG
                    && i + EOCD_LEN as usize + u16_at(&tail, i + 20) as usize == tail.len()
            })
            .ok_or_else(|| structure("not a zip file (no end of central directory record)"))?;
        let e = &tail[pos..];
        let (disk, cd_disk, on_disk, total) = (u16_at(e, 4), u16_at(e, 6), u16_at(e, 8), u16_at(e, 10));
        let (cd_size, cd_offset) = (u32_at(e, 12) as u64, u32_at(e, 16) as u64);
        if disk != 0 || cd_disk != 0 || on_disk != total {
            return Err(structure("multi-disk archives are not bundles"));
        }
        if total == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
            return Err(structure("zip64 archives are not supported by bundle format v1"));
        }
        if total as usize > limits.max_members {
            return Err(structure(format!("{total} members, more than the {} allowed", limits.max_members)));
        }
        let eocd_offset = file_len - tail_len + pos as u64;
        if cd_offset + cd_size != eocd_offset {
            return Err(structure("the central directory is not where the end record says"));
        }
        inner.seek(SeekFrom::Start(cd_offset)).map_err(io)?;
        let mut cd = vec![0; cd_size as usize];
        inner.read_exact(&mut cd).map_err(io)?;

        let mut members = Vec::new();
        let mut names = BTreeSet::new();
        let mut folded = BTreeSet::new();
        let mut spans: Vec<(u64, u64, String)> = Vec::new();
        let mut declared_total: u64 = 0;
        let mut at = 0usize;
        for _ in 0..total {
            if at + 46 > cd.len() || u32_at(&cd, at) != CENTRAL_SIG {
                return Err(structure("the central directory is damaged"));
            }
            let h = &cd[at..];
            let (made_by, flags, method) = (u16_at(h, 4), u16_at(h, 8), u16_at(h, 10));
            let (crc32, compressed, size) = (u32_at(h, 16), u32_at(h, 20) as u64, u32_at(h, 24) as u64);
            let (name_len, extra_len, comment_len) =
                (u16_at(h, 28) as usize, u16_at(h, 30) as usize, u16_at(h, 32) as usize);
            let external = u32_at(h, 38);
            let local_offset = u32_at(h, 42) as u64;
            let end = at + 46 + name_len + extra_len + comment_len;
            if end > cd.len() {
                return Err(structure("the central directory is damaged"));
            }
            let raw_name = &cd[at + 46..at + 46 + name_len];
            at = end;
            let name = std::str::from_utf8(raw_name)
                .map_err(|_| structure("a member name is not UTF-8"))?
                .to_owned();
            check_name(&name).map_err(|why| member_error(&name, format!("unsafe name: {why}")))?;
            if !names.insert(name.clone()) || !folded.insert(name.to_lowercase()) {
                return Err(member_error(&name, "the name appears twice (or twice ignoring case)"));
            }
            // Unix mode in the high 16 bits when made on Unix: refuse symbolic links.
            if made_by >> 8 == 3 && (external >> 16) & 0o170000 == 0o120000 {
                return Err(member_error(&name, "symbolic links are not allowed"));
            }
            if flags & FLAG_ENCRYPTED != 0 {
                return Err(member_error(&name, "encrypted members are not allowed"));
            }
            if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || local_offset == 0xFFFF_FFFF {
                return Err(member_error(&name, "zip64 members are not supported by bundle format v1"));
            }
            match method {
                METHOD_STORED if compressed != size => {
                    return Err(member_error(&name, "a stored member whose sizes disagree"));
                }
                METHOD_STORED => {}
                METHOD_DEFLATE => {
                    if size > compressed.max(1).saturating_mul(limits.max_ratio) {
                        return Err(member_error(
                            &name,
                            format!(
                                "declares {size} bytes from {compressed} compressed, a ratio above {}: refused as a zip bomb",
                                limits.max_ratio
                            ),
                        ));
                    }
                }
                other => {
                    return Err(member_error(&name, format!("compression method {other} is not allowed")));
                }
            }
            declared_total = declared_total.saturating_add(size);
            if declared_total > limits.max_total {
                return Err(structure(format!(
                    "the members declare more than {} bytes in all: refused as a zip bomb",
                    limits.max_total
                )));
            }
            // The local header must agree with the central directory.
            inner.seek(SeekFrom::Start(local_offset)).map_err(io)?;
            let mut lh = [0u8; 30];
            inner
                .read_exact(&mut lh)
                .map_err(|_| member_error(&name, "its local header lies outside the file"))?;
            if u32_at(&lh, 0) != LOCAL_SIG {
                return Err(member_error(&name, "its local header is damaged"));
            }
            let (l_name_len, l_extra_len) = (u16_at(&lh, 26) as u64, u16_at(&lh, 28) as u64);
            let mut l_name = vec![0; l_name_len as usize];
            inner.read_exact(&mut l_name).map_err(|_| member_error(&name, "its local header is damaged"))?;
            if l_name != raw_name || u16_at(&lh, 8) != method {
                return Err(member_error(&name, "its local header differs from the central directory"));
            }
            if u16_at(&lh, 6) & FLAG_DESCRIPTOR == 0
                && (u32_at(&lh, 14) != crc32
                    || u32_at(&lh, 18) as u64 != compressed
                    || u32_at(&lh, 22) as u64 != size)
            {
                return Err(member_error(&name, "its local header differs from the central directory"));
            }
            let data_offset = local_offset + 30 + l_name_len + l_extra_len;
            let data_end = data_offset + compressed;
            if data_end > cd_offset {
                return Err(member_error(&name, "its data runs past the end of the member area"));
            }
            spans.push((local_offset, data_end, name.clone()));
            members.push(ZipMember { name, size, compressed, method, crc32, data_offset });
        }
        spans.sort();
        for pair in spans.windows(2) {
            if pair[1].0 < pair[0].1 {
                return Err(member_error(
                    &pair[1].2,
                    format!("its data overlaps member {}: refused as a zip bomb", pair[0].2),
                ));
            }
        }
        // Directory entries carry no content; the bundle's members are its files.
        members.retain(|m| !m.name.ends_with('/') || m.size != 0);
        if let Some(m) = members.iter().find(|m| m.name.ends_with('/')) {
            return Err(member_error(&m.name, "a directory entry with content"));
        }
        Ok(Self { inner, members })
    }

    pub fn members(&self) -> &[ZipMember] {
        &self.members
    }

    pub fn member(&self, name: &str) -> Option<&ZipMember> {
        self.members.iter().find(|m| m.name == name)
    }

    /// Streams a member's content into `sink`, checking its CRC-32 and declared size; returns its
    /// size and SHA-256. Inflation stops at the declared size.
    pub fn copy_to(&mut self, name: &str, sink: &mut dyn Write) -> Result<(u64, String), BundleError> {
        let m = self.member(name).ok_or_else(|| member_error(name, "not in the archive"))?.clone();
        self.inner
            .seek(SeekFrom::Start(m.data_offset))
            .map_err(|e| member_error(name, format!("cannot read: {e}")))?;
        let raw = (&mut self.inner).take(m.compressed);
        let mut reader: Box<dyn Read + '_> = match m.method {
            METHOD_DEFLATE => Box::new(flate2::read::DeflateDecoder::new(raw)),
            _ => Box::new(raw),
        };
        let mut crc = crc32fast::Hasher::new();
        let mut sha = digest::Context::new(&digest::SHA256);
        let mut done: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|e| member_error(name, format!("cannot read: {e}")))?;
            if n == 0 {
                break;
            }
            done += n as u64;
            if done > m.size {
                return Err(member_error(name, "expands past its declared size: refused as a zip bomb"));
            }
            crc.update(&buf[..n]);
            sha.update(&buf[..n]);
            sink.write_all(&buf[..n]).map_err(|e| member_error(name, format!("cannot write: {e}")))?;
        }
        if done != m.size {
            return Err(member_error(name, "is shorter than its declared size"));
        }
        if crc.finalize() != m.crc32 {
            return Err(member_error(name, "its CRC-32 does not match (damaged in the archive)"));
        }
        Ok((done, hex(sha.finish().as_ref())))
    }

    /// Reads a whole member into memory, refusing members larger than `max`.
    pub fn read(&mut self, name: &str, max: u64) -> Result<Vec<u8>, BundleError> {
        let size = self.member(name).ok_or_else(|| member_error(name, "not in the archive"))?.size;
        if size > max {
            return Err(member_error(name, format!("{size} bytes, more than the {max} expected for it")));
        }
        let mut out = Vec::with_capacity(size as usize);
        self.copy_to(name, &mut out)?;
        Ok(out)
    }
}

struct CentralEntry {
    name: String,
    crc32: u32,
    size: u32,
    offset: u32,
}

/// Writes a stored-only zip. Each member's SHA-256 is computed while it is written.
pub struct ZipWriter<W: Write + Seek> {
    out: W,
    entries: Vec<CentralEntry>,
}

fn too_big(name: &str) -> BundleError {
    member_error(name, "larger than 4 GiB, which bundle format v1 cannot hold")
}

impl<W: Write + Seek> ZipWriter<W> {
    pub fn new(out: W) -> Self {
        Self { out, entries: Vec::new() }
    }

    fn io(name: &str) -> impl Fn(io::Error) -> BundleError + '_ {
        move |e| member_error(name, format!("cannot write: {e}"))
    }

    /// Adds a member whose content `write` produces; returns its size and SHA-256.
    pub fn add_with(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> crate::Result<()>,
    ) -> crate::Result<(u64, String)> {
        check_name(name).map_err(|why| member_error(name, why))?;
        let io = Self::io(name);
        let offset = self.out.stream_position().map_err(&io)?;
        let offset = u32::try_from(offset).map_err(|_| too_big(name))?;
        self.out.write_all(&local_header(name, 0, 0)).map_err(&io)?;
        let mut sink = MemberSink {
            out: &mut self.out,
            crc: crc32fast::Hasher::new(),
            sha: digest::Context::new(&digest::SHA256),
            size: 0,
        };
        write(&mut sink)?;
        let MemberSink { crc, sha, size, .. } = sink;
        let size32 = u32::try_from(size).ok().filter(|s| *s != u32::MAX).ok_or_else(|| too_big(name))?;
        let crc32 = crc.finalize();
        // Patch the CRC and sizes into the local header now that they are known.
        let end = self.out.stream_position().map_err(&io)?;
        self.out.seek(SeekFrom::Start(offset as u64)).map_err(&io)?;
        self.out.write_all(&local_header(name, crc32, size32)).map_err(&io)?;
        self.out.seek(SeekFrom::Start(end)).map_err(&io)?;
        self.entries.push(CentralEntry { name: name.to_owned(), crc32, size: size32, offset });
        Ok((size, hex(sha.finish().as_ref())))
    }

    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> crate::Result<(u64, String)> {
        self.add_with(name, |w| {
            w.write_all(bytes).map_err(|e| member_error(name, format!("cannot write: {e}")))?;
            Ok(())
        })
    }

    /// Writes the central directory and end record, and returns the output.
    pub fn finish(mut self) -> Result<W, BundleError> {
        let io = |e: io::Error| structure(format!("cannot write: {e}"));
        let cd_offset = self.out.stream_position().map_err(io)?;
        let mut cd = Vec::new();
        for e in &self.entries {
            cd.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
            cd.extend_from_slice(&0x031Eu16.to_le_bytes()); // made by: Unix, spec 3.0
            cd.extend_from_slice(&20u16.to_le_bytes());
            cd.extend_from_slice(&FLAG_UTF8.to_le_bytes());
            cd.extend_from_slice(&METHOD_STORED.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&DOS_DATE.to_le_bytes());
            cd.extend_from_slice(&e.crc32.to_le_bytes());
            cd.extend_from_slice(&e.size.to_le_bytes());
            cd.extend_from_slice(&e.size.to_le_bytes());
            cd.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
            cd.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
            cd.extend_from_slice(&e.offset.to_le_bytes());
            cd.extend_from_slice(e.name.as_bytes());
        }
        let count = u16::try_from(self.entries.len()).map_err(|_| structure("more than 65535 members"))?;
        let cd_offset = u32::try_from(cd_offset).map_err(|_| structure("archive larger than 4 GiB"))?;
        let mut end = Vec::new();
        end.extend_from_slice(&END_SIG.to_le_bytes());
        end.extend_from_slice(&[0; 4]);
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        end.extend_from_slice(&cd_offset.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        self.out.write_all(&cd).map_err(io)?;
        self.out.write_all(&end).map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.out)
    }
}

/// Passes a member's bytes to the archive while taking its CRC-32, SHA-256 and size.
struct MemberSink<'a, W: Write> {
    out: &'a mut W,
    crc: crc32fast::Hasher,
    sha: digest::Context,
    size: u64,
}

impl<W: Write> Write for MemberSink<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.crc.update(&buf[..n]);
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn local_header(name: &str, crc32: u32, size: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(30 + name.len());
    h.extend_from_slice(&LOCAL_SIG.to_le_bytes());
    h.extend_from_slice(&20u16.to_le_bytes());
    h.extend_from_slice(&FLAG_UTF8.to_le_bytes());
    h.extend_from_slice(&METHOD_STORED.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&DOS_DATE.to_le_bytes());
    h.extend_from_slice(&crc32.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&(name.len() as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(name.as_bytes());
    h
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in members {
            w.add_bytes(name, bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn open(bytes: Vec<u8>) -> Result<ZipReader<Cursor<Vec<u8>>>, BundleError> {
        ZipReader::open(Cursor::new(bytes), Limits::default())
    }

    #[test]
    fn written_members_read_back_with_their_hashes() {
        let bytes = zip(&[("a.json", b"{}"), ("dir/b.bin", &[7u8; 100_000])]);
        let mut r = open(bytes).unwrap();
        assert_eq!(r.members().len(), 2);
        assert_eq!(r.read("dir/b.bin", 1 << 20).unwrap(), vec![7u8; 100_000]);
        let (n, sha) = r.copy_to("a.json", &mut io::sink()).unwrap();
        assert_eq!(
            (n, sha.as_str()),
            (2, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        );
    }

    #[test]
    fn names_that_escape_the_folder_are_refused() {
        for bad in ["../evil", "/etc/passwd", "a/../../b", "a\\..\\b", "C:/x", "a//b", "./a", "a\u{0}b", ""] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("record/abc/signatures/x.png").is_ok());
        // Forged into an archive by hand (the writer refuses them): the reader names them.
        let mut bytes = zip(&[("aa/evil", b"x")]);
        let at = bytes.windows(7).rposition(|w| w == b"aa/evil").unwrap();
        bytes[at..at + 3].copy_from_slice(b"../");
        let first = bytes.windows(7).position(|w| w == b"aa/evil").unwrap();
        bytes[first..first + 3].copy_from_slice(b"../");
        match open(bytes) {
            Err(BundleError::Member { name, reason }) => {
                assert_eq!(name, "../evil");
                assert!(reason.contains(".."), "{reason}");
            }
            other => panic!("expected an unsafe name, got {:?}", other.err()),
        }
    }

    #[test]
    fn overlapping_members_and_declared_bombs_are_refused() {
        // Two central entries pointing at the same data.
        let bytes = zip(&[("a", b"0123456789"), ("b", b"0123456789")]);
        let mut forged = bytes.clone();
        let cd = forged.windows(4).position(|w| w == CENTRAL_SIG.to_le_bytes()).unwrap();
        let second = cd + 46 + 1;
        assert_eq!(u32_at(&forged, second), CENTRAL_SIG);
        forged[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
        match open(forged) {
            Err(BundleError::Member { reason, .. }) => {
                assert!(reason.contains("overlaps") || reason.contains("local header differs"), "{reason}")
            }
            other => panic!("expected overlap refusal, got {:?}", other.err()),
        }
    }
}

//! The segmented streaming AEAD for files in the vault (证据库文件加密).
//!
//! Evidence files range from a 2 MB photo to a multi-GB video, and must be encrypted in one pass
//! while they are hashed, then read back, verified and uploaded in ranges without ever being held
//! whole in memory. A single AES-GCM message cannot do that, so a file is cut into fixed-size
//! segments, each sealed on its own with AES-256-GCM (ring), in the manner of the STREAM
//! construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) used by Tink and age.
//!
//! # Layout
//!
//! ```text
//! header (48 bytes, plaintext, authenticated as every segment's AAD)
//!   magic "FSV1" (4) ‖ version 0x01 (1) ‖ segment size u32 BE (4) ‖ salt (32) ‖ nonce prefix (7)
//! segment 0 ‖ segment 1 ‖ … ‖ segment n-1
//!   each = AES-256-GCM(ciphertext of `segment size` plaintext bytes) ‖ tag (16)
//!   the final segment holds 0..=segment size bytes (0 only when the whole file is empty)
//! ```
//!
//! - Per-file key = HKDF-SHA256(vault-stream subkey, salt, "fieldseal vault stream v1"); the salt
//!   and nonce prefix are fresh random values for every file, so no (key, nonce) pair ever repeats
//!   even if the same evidence is sealed twice.
//! - Nonce (12 bytes) = nonce prefix (7) ‖ segment counter u32 BE (4) ‖ last flag (1: 0x00, or
//!   0x01 on the final segment only).
//! - AAD of every segment = the 48 header bytes.
//!
//! The segment count is not stored: it follows from the file length, and a reader decrypts the
//! segment it believes to be final with the last flag set. Hence:
//!
//! | tampering | why it fails |
//! |---|---|
//! | bit flip anywhere in a segment | that segment's GCM tag |
//! | header edit (size, salt, prefix) | header is every segment's AAD; salt also changes the key |
//! | segments reordered or duplicated | the counter in the nonce |
//! | truncation at a segment boundary | the new final segment was sealed without the last flag |
//! | truncation inside a segment | the new final segment's tag (and flag) no longer match |
//! | data appended after the end | the old final segment is now read without the last flag |
//! | a segment copied from another file | different per-file key and nonce prefix |
//! | an empty plaintext | still one (empty) final segment, so "no segments" is malformed |
//!
//! # v2: padded to a size class
//!
//! A v1 file's length gives away its plaintext's exact length. v2 (magic `FSV2`, version 0x02,
//! per-file key info "fieldseal vault stream v2", otherwise the same header and segments) seals a
//! padded plaintext instead:
//!
//! ```text
//! sealed plaintext = data ‖ zero bytes ‖ len(data) as u64 BE (8)
//! its length       = padding::size_class(len(data) + 8, padding::BLOB_FLOOR)   (Padmé, ≥ 64 KiB)
//! ```
//!
//! so every data length in one size class gives a file of the same length. The true length is
//! inside the authenticated plaintext; a reader takes it from the final 8 bytes at open and refuses
//! a file whose padded length is not exactly the class of that length, or (on a full read) whose
//! padding is not zero: one plaintext has one v2 form. Readers present only `data`.
//! docs/decisions/0011-padded-sizes.md says why.
//!
//! Random access ([`StreamDecryptor::read_range`]) verifies only the segments it decrypts (for v2
//! also the one or two holding the length); a file truncated after the range still reads. [`StreamDecryptor::verify_all`] checks the whole file,
//! and is what ingest and upload rely on before trusting a blob.

use std::io::{self, Read, Seek, SeekFrom, Write};

use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, Tag, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};

use super::{CryptoError, SubKey, padding};

/// The file magic; the trailing `1` is the format generation, mirrored by [`VERSION`].
pub const MAGIC: &[u8; 4] = b"FSV1";
pub const VERSION: u8 = 1;
/// The padded format (v2): magic and version.
pub const MAGIC_V2: &[u8; 4] = b"FSV2";
pub const VERSION_V2: u8 = 2;
/// The true length at the end of a v2 sealed plaintext.
const TRAILER_LEN: u64 = 8;
/// Plaintext bytes per segment for every file this code writes.
pub const DEFAULT_SEGMENT_SIZE: u32 = 64 * 1024;
/// Readers refuse segment sizes outside this range, which bounds the memory a hostile header can
/// make them allocate (one segment).
const MIN_SEGMENT_SIZE: u32 = 16;
const MAX_SEGMENT_SIZE: u32 = 4 * 1024 * 1024;
pub const SALT_LEN: usize = 32;
pub const NONCE_PREFIX_LEN: usize = 7;
pub const HEADER_LEN: usize = MAGIC.len() + 1 + 4 + SALT_LEN + NONCE_PREFIX_LEN;
pub const TAG_LEN: usize = 16;
const KDF_INFO: &[u8] = b"fieldseal vault stream v1";
const KDF_INFO_V2: &[u8] = b"fieldseal vault stream v2";
/// The counter is 32 bits: 2^32 segments of 64 KiB is 256 TiB, far beyond any evidence file.
const MAX_SEGMENTS: u64 = 1 << 32;

/// What a finished encryption wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSummary {
    pub plaintext_len: u64,
    /// Everything written to the output, header included.
    pub ciphertext_len: u64,
    pub segments: u64,
}

/// The encrypted size of a `plaintext_len`-byte file written with [`DEFAULT_SEGMENT_SIZE`].
pub fn encrypted_len(plaintext_len: u64) -> u64 {
    let segments = plaintext_len.div_ceil(u64::from(DEFAULT_SEGMENT_SIZE)).max(1);
    HEADER_LEN as u64 + plaintext_len + segments * TAG_LEN as u64
}

/// The length of the sealed plaintext of a v2 file holding `data_len` bytes: padding included.
pub fn padded_plaintext_len(data_len: u64) -> u64 {
    padding::size_class(data_len.saturating_add(TRAILER_LEN), padding::BLOB_FLOOR)
}

/// The on-disk size of a v2 (padded) file holding `data_len` bytes, with [`DEFAULT_SEGMENT_SIZE`].
pub fn padded_encrypted_len(data_len: u64) -> u64 {
    encrypted_len(padded_plaintext_len(data_len))
}

struct Header {
    version: u8,
    segment_size: u32,
    salt: [u8; SALT_LEN],
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

impl Header {
    /// A fresh salt and nonce prefix for a new file: never reused under one key.
    fn random(version: u8) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let mut salt = [0u8; SALT_LEN];
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        rng.fill(&mut salt).map_err(|_| CryptoError::Random)?;
        rng.fill(&mut nonce_prefix).map_err(|_| CryptoError::Random)?;
        Ok(Header { version, segment_size: DEFAULT_SEGMENT_SIZE, salt, nonce_prefix })
    }

    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..4].copy_from_slice(if self.version == VERSION_V2 { MAGIC_V2 } else { MAGIC });
        out[4] = self.version;
        out[5..9].copy_from_slice(&self.segment_size.to_be_bytes());
        out[9..9 + SALT_LEN].copy_from_slice(&self.salt);
        out[9 + SALT_LEN..].copy_from_slice(&self.nonce_prefix);
        out
    }

    fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, CryptoError> {
        let version = match &bytes[..4] {
            m if m == MAGIC => VERSION,
            m if m == MAGIC_V2 => VERSION_V2,
            _ => return Err(CryptoError::malformed("vault file", "not a fieldseal vault file")),
        };
        if bytes[4] != version {
            return Err(CryptoError::malformed("vault file", format!("unsupported version {}", bytes[4])));
        }
        let mut size = [0u8; 4];
        size.copy_from_slice(&bytes[5..9]);
        let segment_size = u32::from_be_bytes(size);
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&segment_size) {
            return Err(CryptoError::malformed("vault file", format!("segment size {segment_size}")));
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&bytes[9..9 + SALT_LEN]);
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        nonce_prefix.copy_from_slice(&bytes[9 + SALT_LEN..]);
        Ok(Self { version, segment_size, salt, nonce_prefix })
    }
}

/// The per-file AEAD state shared by writer and reader.
struct SegmentCipher {
    key: LessSafeKey,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    aad: [u8; HEADER_LEN],
}

impl SegmentCipher {
    fn new(stream_key: &SubKey, header: &Header) -> Self {
        let info = if header.version == VERSION_V2 { KDF_INFO_V2 } else { KDF_INFO };
        let file_key = stream_key.derive(&header.salt, info);
        // AES-256 accepts exactly 32 bytes, which is what `derive` always produces.
        let unbound = UnboundKey::new(&AES_256_GCM, file_key.expose()).expect("32-byte AES key");
        Self { key: LessSafeKey::new(unbound), nonce_prefix: header.nonce_prefix, aad: header.encode() }
    }

    fn nonce(&self, index: u64, last: bool) -> Result<Nonce, CryptoError> {
        let counter = u32::try_from(index)
            .map_err(|_| CryptoError::malformed("vault file", "more segments than the counter allows"))?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..NONCE_PREFIX_LEN].copy_from_slice(&self.nonce_prefix);
        nonce[NONCE_PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&counter.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        Ok(Nonce::assume_unique_for_key(nonce))
    }

    fn seal(&self, index: u64, last: bool, in_out: &mut [u8]) -> Result<Tag, CryptoError> {
        self.key
            .seal_in_place_separate_tag(self.nonce(index, last)?, Aad::from(&self.aad), in_out)
            .map_err(|_| CryptoError::malformed("vault file", "segment too long to seal"))
    }

    /// Opens `ct ‖ tag` in place and returns the plaintext length.
    fn open(&self, index: u64, last: bool, in_out: &mut [u8]) -> Result<usize, CryptoError> {
        self.key
            .open_in_place(self.nonce(index, last)?, Aad::from(&self.aad), in_out)
            .map(|plain| plain.len())
            .map_err(|_| segment_integrity(index))
    }
}

fn segment_integrity(index: u64) -> CryptoError {
    CryptoError::integrity(format!("vault file segment {index}"))
}

fn io_error(source: io::Error) -> CryptoError {
    CryptoError::io("vault file", source)
}

/// Crypto failures surface through `std::io` traits as `InvalidData`, with the `CryptoError`
/// kept as the source so callers can downcast; plain I/O failures pass through unchanged.
fn into_io(e: CryptoError) -> io::Error {
    match e {
        CryptoError::Io { source, .. } => source,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

/// Encrypts a vault file as it is written. Holds at most one segment of plaintext.
///
/// Call [`StreamEncryptor::finish`]: a writer dropped without it leaves a file whose final segment
/// is missing, which readers reject as truncated. The output gets one `write_all` per segment, so
/// wrapping a file in a `BufWriter` only adds a copy.
pub struct StreamEncryptor<W: Write> {
    out: W,
    cipher: SegmentCipher,
    segment_size: usize,
    /// Pending plaintext; sealed in place, and the tag appended, when the segment is emitted.
    buf: Vec<u8>,
    segments: u64,
    plaintext_len: u64,
    ciphertext_len: u64,
    /// Set when a write failed part-way; the output is then unusable and further calls fail.
    failed: bool,
    /// v2: pad to the size class and end with the true length at `finish`.
    padded: bool,
}

impl<W: Write> std::fmt::Debug for StreamEncryptor<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamEncryptor")
            .field("segment_size", &self.segment_size)
            .field("segments", &self.segments)
            .field("plaintext_len", &self.plaintext_len)
            .finish_non_exhaustive()
    }
}

impl<W: Write> StreamEncryptor<W> {
    /// Starts a vault file under `stream_key` (the store's `DataKey::derive("vault-stream")`) and
    /// writes its header to `out`.
    pub fn new(stream_key: &SubKey, out: W) -> Result<Self, CryptoError> {
        Self::with_header(stream_key, out, Header::random(VERSION)?)
    }

    /// Like [`StreamEncryptor::new`], in format v2: the file is padded to the size class of what
    /// is written, so its length does not tell the plaintext's (module documentation).
    pub fn new_padded(stream_key: &SubKey, out: W) -> Result<Self, CryptoError> {
        Self::with_header(stream_key, out, Header::random(VERSION_V2)?)
    }

    /// Fixed salt, nonce prefix and segment size, for pinned test vectors and small-segment
    /// tests only. Reusing a salt and prefix under one key would repeat nonces.
    #[cfg(test)]
    pub(crate) fn with_parameters_for_tests(
        stream_key: &SubKey,
        out: W,
        segment_size: u32,
        salt: [u8; SALT_LEN],
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self, CryptoError> {
        Self::with_header(stream_key, out, Header { version: VERSION, segment_size, salt, nonce_prefix })
    }

    /// [`StreamEncryptor::with_parameters_for_tests`] in format v2 (padded).
    #[cfg(test)]
    pub(crate) fn padded_with_parameters_for_tests(
        stream_key: &SubKey,
        out: W,
        segment_size: u32,
        salt: [u8; SALT_LEN],
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self, CryptoError> {
        Self::with_header(stream_key, out, Header { version: VERSION_V2, segment_size, salt, nonce_prefix })
    }

    fn with_header(stream_key: &SubKey, mut out: W, header: Header) -> Result<Self, CryptoError> {
        let encoded = header.encode();
        out.write_all(&encoded).map_err(io_error)?;
        let segment_size = header.segment_size as usize;
        Ok(Self {
            cipher: SegmentCipher::new(stream_key, &header),
            out,
            segment_size,
            buf: Vec::with_capacity(segment_size + TAG_LEN),
            segments: 0,
            plaintext_len: 0,
            ciphertext_len: HEADER_LEN as u64,
            failed: false,
            padded: header.version == VERSION_V2,
        })
    }

    /// Buffers `data`, emitting each full segment once more data follows it.
    fn push(&mut self, data: &[u8]) -> Result<(), CryptoError> {
        let mut rest = data;
        while !rest.is_empty() {
            // Emit a full segment only now that we know it is not the last one.
            if self.buf.len() == self.segment_size {
                self.emit_segment(false)?;
            }
            let take = (self.segment_size - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        Ok(())
    }

    /// Seals the buffered plaintext as the next segment and writes it out.
    fn emit_segment(&mut self, last: bool) -> Result<(), CryptoError> {
        self.failed = true;
        let tag = self.cipher.seal(self.segments, last, &mut self.buf)?;
        // The buffer was allocated with room for the tag, so this never reallocates.
        self.buf.extend_from_slice(tag.as_ref());
        self.out.write_all(&self.buf).map_err(io_error)?;
        self.ciphertext_len += self.buf.len() as u64;
        self.segments += 1;
        self.buf.clear();
        self.failed = false;
        Ok(())
    }

    /// Seals the final segment (an empty one if nothing was written) and flushes the output.
    pub fn finish(mut self) -> Result<(W, StreamSummary), CryptoError> {
        if self.failed {
            return Err(io_error(io::Error::other("an earlier write to this vault file failed")));
        }
        if self.padded {
            // Zero padding up to the size class, then the true length (module documentation).
            let total = padded_plaintext_len(self.plaintext_len);
            let mut zeros = total - self.plaintext_len - TRAILER_LEN;
            let block = [0u8; 4096];
            while zeros > 0 {
                let n = zeros.min(block.len() as u64) as usize;
                self.push(&block[..n])?;
                zeros -= n as u64;
            }
            self.push(&self.plaintext_len.to_be_bytes())?;
        }
        // A full buffer is only emitted once more data arrives, so the buffer is empty here only
        // when the whole file is empty — and then this writes the single empty final segment.
        self.emit_segment(true)?;
        self.out.flush().map_err(io_error)?;
        let summary = StreamSummary {
            plaintext_len: self.plaintext_len,
            ciphertext_len: self.ciphertext_len,
            segments: self.segments,
        };
        Ok((self.out, summary))
    }
}

impl<W: Write> Write for StreamEncryptor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("an earlier write to this vault file failed"));
        }
        self.push(data).map_err(into_io)?;
        self.plaintext_len += data.len() as u64;
        Ok(data.len())
    }

    /// Flushes the output only: a partial segment cannot be emitted without ending the file.
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Reads a vault file: whole-file verification, random-access ranges, and `Read + Seek` over the
/// plaintext. Holds one segment in memory.
pub struct StreamDecryptor<R: Read + Seek> {
    inner: R,
    /// Position of the header in `inner`, so a vault file may sit inside a larger stream.
    base: u64,
    /// Where `inner` is now, to skip redundant seeks while reading in order.
    inner_pos: u64,
    cipher: SegmentCipher,
    segment_size: u64,
    segments: u64,
    last_segment_len: usize,
    /// The data's length: for v2, without the padding and its length trailer.
    plaintext_len: u64,
    /// Everything sealed: for v2 the padding and trailer too; for v1 the same as `plaintext_len`.
    sealed_len: u64,
    /// Ciphertext in, plaintext out (in place); `cached` names the segment whose plaintext it holds.
    buf: Vec<u8>,
    cached: Option<(u64, usize)>,
    /// The `Read`/`Seek` cursor, in plaintext bytes.
    pos: u64,
}

impl<R: Read + Seek> std::fmt::Debug for StreamDecryptor<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDecryptor")
            .field("segment_size", &self.segment_size)
            .field("segments", &self.segments)
            .field("plaintext_len", &self.plaintext_len)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> StreamDecryptor<R> {
    /// Reads and checks the header at the current position of `r`, and derives the segment layout
    /// from the stream's length. Segments are only decrypted when read.
    pub fn open(stream_key: &SubKey, mut r: R) -> Result<Self, CryptoError> {
        let base = r.stream_position().map_err(io_error)?;
        let end = r.seek(SeekFrom::End(0)).map_err(io_error)?;
        let total = end.saturating_sub(base);
        if total < HEADER_LEN as u64 {
            return Err(CryptoError::malformed("vault file", "shorter than its header"));
        }
        r.seek(SeekFrom::Start(base)).map_err(io_error)?;
        let mut header_bytes = [0u8; HEADER_LEN];
        r.read_exact(&mut header_bytes).map_err(io_error)?;
        let header = Header::decode(&header_bytes)?;

        let body = total - HEADER_LEN as u64;
        let sealed_segment = u64::from(header.segment_size) + TAG_LEN as u64;
        if body == 0 {
            return Err(CryptoError::malformed("vault file", "no segments after the header"));
        }
        let segments = body.div_ceil(sealed_segment);
        let last_segment_len = body - (segments - 1) * sealed_segment;
        if last_segment_len < TAG_LEN as u64 {
            return Err(CryptoError::malformed("vault file", "final segment shorter than its tag"));
        }
        // The writer only makes an empty final segment for an empty file.
        if segments > 1 && last_segment_len == TAG_LEN as u64 {
            return Err(CryptoError::malformed("vault file", "empty final segment"));
        }
        if segments > MAX_SEGMENTS {
            return Err(CryptoError::malformed("vault file", "more segments than the counter allows"));
        }
        let sealed_len = body - segments * TAG_LEN as u64;
        let mut decryptor = Self {
            inner: r,
            base,
            inner_pos: base + HEADER_LEN as u64,
            cipher: SegmentCipher::new(stream_key, &header),
            segment_size: u64::from(header.segment_size),
            segments,
            // At most one sealed segment, which MAX_SEGMENT_SIZE keeps small.
            last_segment_len: last_segment_len as usize,
            plaintext_len: sealed_len,
            sealed_len,
            buf: vec![0u8; sealed_segment as usize],
            cached: None,
            pos: 0,
        };
        if header.version == VERSION_V2 {
            decryptor.plaintext_len = decryptor.padded_data_len()?;
        }
        Ok(decryptor)
    }

    /// v2: the true length from the final 8 sealed bytes, checked against the padding it implies.
    fn padded_data_len(&mut self) -> Result<u64, CryptoError> {
        let malformed = |reason: &str| CryptoError::malformed("vault file", reason.to_owned());
        if self.sealed_len < TRAILER_LEN {
            return Err(malformed("padded file shorter than its length trailer"));
        }
        let trailer =
            self.range_within(self.sealed_len - TRAILER_LEN, TRAILER_LEN as usize, self.sealed_len)?;
        let trailer: [u8; 8] = trailer.try_into().map_err(|_| malformed("length trailer cut short"))?;
        let data_len = u64::from_be_bytes(trailer);
        if data_len > self.sealed_len - TRAILER_LEN || padded_plaintext_len(data_len) != self.sealed_len {
            return Err(malformed("padding is not the size class of the sealed length"));
        }
        Ok(data_len)
    }

    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    pub fn segments(&self) -> u64 {
        self.segments
    }

    /// Decrypts segment `index` (verifying its tag, counter and last flag) and returns its plaintext.
    fn segment(&mut self, index: u64) -> Result<&[u8], CryptoError> {
        if let Some((_, len)) = self.cached.filter(|&(cached, _)| cached == index) {
            return Ok(&self.buf[..len]);
        }
        let last = index + 1 == self.segments;
        let sealed_len = if last { self.last_segment_len } else { self.buf.len() };
        let start = self.base + HEADER_LEN as u64 + index * (self.segment_size + TAG_LEN as u64);
        if self.inner_pos != start {
            self.inner.seek(SeekFrom::Start(start)).map_err(io_error)?;
            self.inner_pos = start;
        }
        self.cached = None;
        match self.inner.read_exact(&mut self.buf[..sealed_len]) {
            Ok(()) => self.inner_pos += sealed_len as u64,
            // The file shrank after `open` measured it: as good as truncated.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.inner_pos = u64::MAX;
                return Err(segment_integrity(index));
            }
            Err(e) => {
                self.inner_pos = u64::MAX;
                return Err(io_error(e));
            }
        }
        let len = self.cipher.open(index, last, &mut self.buf[..sealed_len])?;
        self.cached = Some((index, len));
        Ok(&self.buf[..len])
    }

    /// Up to `len` plaintext bytes from `offset`, decrypting only the segments that cover them.
    /// Like `pread`, the result is shorter only where the range runs past the end of the file.
    pub fn read_range(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, CryptoError> {
        self.range_within(offset, len, self.plaintext_len)
    }

    /// [`StreamDecryptor::read_range`] bounded by `limit` sealed bytes instead of the data's end.
    fn range_within(&mut self, offset: u64, len: usize, limit: u64) -> Result<Vec<u8>, CryptoError> {
        let end = offset.saturating_add(len as u64).min(limit);
        if offset >= end {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity((end - offset) as usize);
        let (first, last) = (offset / self.segment_size, (end - 1) / self.segment_size);
        for index in first..=last {
            let segment_start = index * self.segment_size;
            let from = offset.saturating_sub(segment_start) as usize;
            let to = (end - segment_start).min(self.segment_size) as usize;
            out.extend_from_slice(&self.segment(index)?[from..to]);
        }
        Ok(out)
    }

    /// Decrypts the whole file into `out`, verifying every segment in order, that the final one
    /// carries the last flag, and that nothing follows it. Returns the plaintext length.
    pub fn decrypt_to<W: Write>(&mut self, mut out: W) -> Result<u64, CryptoError> {
        let mut written = 0u64;
        let (data_len, padding_end) = (self.plaintext_len, self.sealed_len.saturating_sub(TRAILER_LEN));
        let padded = data_len != self.sealed_len;
        for index in 0..self.segments {
            let start = index * self.segment_size;
            let plain = self.segment(index)?;
            // Only the data is handed out; v2 padding must be zeros (one plaintext, one form).
            let keep = (data_len.saturating_sub(start) as usize).min(plain.len());
            let zeros_end = (padding_end.saturating_sub(start) as usize).min(plain.len());
            if padded && zeros_end > keep && plain[keep..zeros_end].iter().any(|&b| b != 0) {
                return Err(CryptoError::malformed("vault file", "padding is not zero"));
            }
            out.write_all(&plain[..keep]).map_err(io_error)?;
            written += keep as u64;
        }
        // The layout came from the length measured at `open`; refuse bytes appended since.
        let mut probe = [0u8; 1];
        if self.inner.read(&mut probe).map_err(io_error)? != 0 {
            self.inner_pos = u64::MAX;
            return Err(CryptoError::integrity("vault file (data after the final segment)"));
        }
        out.flush().map_err(io_error)?;
        Ok(written)
    }

    /// Verifies every segment without keeping the plaintext. Returns the plaintext length.
    pub fn verify_all(&mut self) -> Result<u64, CryptoError> {
        self.decrypt_to(io::sink())
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read + Seek> Read for StreamDecryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.plaintext_len {
            // An empty file has no bytes to read, but its one segment must still verify.
            if self.plaintext_len == 0 {
                self.segment(0).map_err(into_io)?;
            }
            return Ok(0);
        }
        let index = self.pos / self.segment_size;
        let within = (self.pos % self.segment_size) as usize;
        let left = self.plaintext_len - self.pos;
        let plain = self.segment(index).map_err(into_io)?;
        let n = (out.len().min(plain.len() - within) as u64).min(left) as usize;
        out[..n].copy_from_slice(&plain[within..within + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

/// Seeks over the plaintext, e.g. to resume an upload at the server's offset.
impl<R: Read + Seek> Seek for StreamDecryptor<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.plaintext_len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the vault file")
        })?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use proptest::prelude::*;
    use serde::Deserialize;

    use super::*;
    use crate::crypto::column::hex;

    const SMALL: u32 = 32;
    const SEALED_SMALL: usize = SMALL as usize + TAG_LEN;

    fn key(byte: u8) -> SubKey {
        SubKey::from_bytes([byte; 32])
    }

    fn seal(key: &SubKey, plain: &[u8]) -> Vec<u8> {
        let mut enc = StreamEncryptor::new(key, Vec::new()).unwrap();
        enc.write_all(plain).unwrap();
        enc.finish().unwrap().0
    }

    fn seal_small(key: &SubKey, plain: &[u8], salt: u8, prefix: u8) -> Vec<u8> {
        let mut enc = StreamEncryptor::with_parameters_for_tests(
            key,
            Vec::new(),
            SMALL,
            [salt; SALT_LEN],
            [prefix; NONCE_PREFIX_LEN],
        )
        .unwrap();
        enc.write_all(plain).unwrap();
        enc.finish().unwrap().0
    }

    /// Opens and fully verifies; the result every tampering test expects to be an error.
    fn open_all(key: &SubKey, file: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut dec = StreamDecryptor::open(key, Cursor::new(file))?;
        let mut out = Vec::new();
        dec.decrypt_to(&mut out)?;
        Ok(out)
    }

    fn plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + 7) as u8).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn round_trips_at_segment_edges() {
        let seg = DEFAULT_SEGMENT_SIZE as usize;
        let k = key(1);
        for len in [0, 1, seg - 1, seg, seg + 1, 3 * seg, 3 * seg + 17] {
            let plain = plaintext(len);
            let mut enc = StreamEncryptor::new(&k, Vec::new()).unwrap();
            // Odd-sized writes exercise segments filling across write calls.
            for chunk in plain.chunks(7777) {
                enc.write_all(chunk).unwrap();
            }
            let (file, summary) = enc.finish().unwrap();
            assert_eq!(summary.plaintext_len, len as u64);
            assert_eq!(summary.ciphertext_len, file.len() as u64);
            assert_eq!(summary.ciphertext_len, encrypted_len(len as u64), "len {len}");
            assert_eq!(summary.segments, len.div_ceil(seg).max(1) as u64);

            let mut dec = StreamDecryptor::open(&k, Cursor::new(&file)).unwrap();
            assert_eq!(dec.plaintext_len(), len as u64);
            assert_eq!(dec.segments(), summary.segments);
            assert_eq!(dec.verify_all().unwrap(), len as u64);
            assert_eq!(open_all(&k, &file).unwrap(), plain, "len {len}");
            let mut via_read = Vec::new();
            StreamDecryptor::open(&k, Cursor::new(&file)).unwrap().read_to_end(&mut via_read).unwrap();
            assert_eq!(via_read, plain);
        }
    }

    #[test]
    fn empty_plaintext_still_has_one_final_segment() {
        let k = key(2);
        let file = seal(&k, b"");
        assert_eq!(file.len(), HEADER_LEN + TAG_LEN);
        assert_eq!(open_all(&k, &file).unwrap(), b"");
        // Without its segment the file is refused, not read as empty.
        assert!(open_all(&k, &file[..HEADER_LEN]).is_err());
        let mut forged = file.clone();
        forged[HEADER_LEN] ^= 1;
        let mut buf = Vec::new();
        assert!(StreamDecryptor::open(&k, Cursor::new(&forged)).unwrap().read_to_end(&mut buf).is_err());
    }

    #[test]
    fn another_stream_key_cannot_open() {
        let file = seal(&key(3), b"evidence");
        assert!(matches!(open_all(&key(4), &file), Err(CryptoError::Integrity { .. })));
    }

    #[test]
    fn vault_file_may_start_inside_a_larger_stream() {
        let k = key(5);
        let plain = plaintext(100);
        let mut container = b"prefix bytes".to_vec();
        container.extend(seal_small(&k, &plain, 1, 1));
        let mut cursor = Cursor::new(&container);
        cursor.set_position(12);
        let mut dec = StreamDecryptor::open(&k, cursor).unwrap();
        assert_eq!(dec.read_range(30, 40).unwrap(), &plain[30..70]);
    }

    #[test]
    fn read_and_seek_follow_the_plaintext() {
        let k = key(6);
        let plain = plaintext(200);
        let file = seal_small(&k, &plain, 1, 1);
        let mut dec = StreamDecryptor::open(&k, Cursor::new(&file)).unwrap();
        dec.seek(SeekFrom::Start(45)).unwrap();
        let mut rest = Vec::new();
        dec.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, &plain[45..]);
        dec.seek(SeekFrom::End(-10)).unwrap();
        let mut tail = [0u8; 10];
        dec.read_exact(&mut tail).unwrap();
        assert_eq!(tail, plain[190..]);
        assert!(dec.seek(SeekFrom::Current(-500)).is_err());
    }

    #[test]
    fn read_range_past_the_end_is_clamped() {
        let k = key(7);
        let plain = plaintext(70);
        let mut dec = StreamDecryptor::open(&k, Cursor::new(seal_small(&k, &plain, 1, 1))).unwrap();
        assert_eq!(dec.read_range(60, 100).unwrap(), &plain[60..]);
        assert!(dec.read_range(70, 5).unwrap().is_empty());
        assert!(dec.read_range(u64::MAX, usize::MAX).unwrap().is_empty());
    }

    #[test]
    fn truncating_a_vault_file_is_detected() {
        let k = key(8);
        // 100 bytes = segments of 32, 32, 32, 4; 96 bytes = exactly three full segments.
        for len in [100, 96] {
            let file = seal_small(&k, &plaintext(len), 1, 1);
            let boundaries: Vec<usize> =
                (0..=len / SMALL as usize).map(|i| HEADER_LEN + i * SEALED_SMALL).collect();
            let last_start = *boundaries.iter().filter(|&&b| b < file.len()).max().unwrap();
            let cuts = [
                last_start,                     // drop the last segment
                HEADER_LEN + SEALED_SMALL + 20, // cut mid segment
                HEADER_LEN + 2 * SEALED_SMALL,  // cut at a segment boundary
                HEADER_LEN + SEALED_SMALL,      // keep only the first segment
                file.len() - 1,                 // lose one tag byte
                HEADER_LEN,                     // header only
                HEADER_LEN - 1,                 // not even a header
            ];
            for cut in cuts {
                assert!(open_all(&k, &file[..cut]).is_err(), "len {len}, cut at {cut} went unnoticed");
            }
        }
    }

    #[test]
    fn reordering_segments_is_detected() {
        let k = key(9);
        let file = seal_small(&k, &plaintext(100), 1, 1);
        let seg = |i: usize| HEADER_LEN + i * SEALED_SMALL..HEADER_LEN + (i + 1) * SEALED_SMALL;
        let mut swapped = file.clone();
        swapped[seg(0)].copy_from_slice(&file[seg(1)]);
        swapped[seg(1)].copy_from_slice(&file[seg(0)]);
        assert!(matches!(open_all(&k, &swapped), Err(CryptoError::Integrity { .. })));
        // A duplicated segment in place of another is a reordering too.
        let mut duplicated = file.clone();
        duplicated[seg(2)].copy_from_slice(&file[seg(1)]);
        assert!(matches!(open_all(&k, &duplicated), Err(CryptoError::Integrity { .. })));
        // Random access checks the counter as well.
        let mut dec = StreamDecryptor::open(&k, Cursor::new(&swapped)).unwrap();
        assert!(dec.read_range(0, 10).is_err());
    }

    #[test]
    fn swapping_a_segment_between_files_is_detected() {
        let k = key(10);
        let plain = plaintext(100);
        // Same stream key and plaintext: only the per-file salt and nonce prefix differ.
        let a = seal(&k, &plain);
        let b = seal(&k, &plain);
        let mut mixed = a.clone();
        mixed[HEADER_LEN..].copy_from_slice(&b[HEADER_LEN..]);
        assert!(matches!(open_all(&k, &mixed), Err(CryptoError::Integrity { .. })));

        // Even a file sharing the salt (hence the key) but not the nonce prefix is caught.
        let a = seal_small(&k, &plain, 1, 1);
        let b = seal_small(&k, &plain, 1, 2);
        let mut mixed = a.clone();
        let seg1 = HEADER_LEN + SEALED_SMALL..HEADER_LEN + 2 * SEALED_SMALL;
        mixed[seg1.clone()].copy_from_slice(&b[seg1]);
        assert!(matches!(open_all(&k, &mixed), Err(CryptoError::Integrity { .. })));
    }

    #[test]
    fn appending_data_after_the_last_segment_is_detected() {
        let k = key(11);
        for len in [0, 40, 64] {
            let file = seal_small(&k, &plaintext(len), 1, 1);
            let last_sealed = if len == 0 { TAG_LEN } else { (len - 1) % SMALL as usize + 1 + TAG_LEN };
            let last = file[file.len() - last_sealed..].to_vec();
            let first = file[HEADER_LEN..(HEADER_LEN + SEALED_SMALL).min(file.len())].to_vec();
            // A stray byte, a bare tag, the final segment replayed, the first segment replayed.
            let appendices = [vec![0], vec![0; TAG_LEN], last, first];
            for extra in appendices {
                let mut longer = file.clone();
                longer.extend_from_slice(&extra);
                assert!(open_all(&k, &longer).is_err(), "len {len}: {} appended bytes accepted", extra.len());
            }
        }
    }

    #[test]
    fn data_appended_after_open_is_detected() {
        let k = key(12);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, seal_small(&k, &plaintext(50), 1, 1)).unwrap();
        let mut dec = StreamDecryptor::open(&k, std::fs::File::open(&path).unwrap()).unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"more").unwrap();
        assert!(matches!(dec.verify_all(), Err(CryptoError::Integrity { .. })));
    }

    #[test]
    fn flipping_each_byte_of_a_small_file_is_detected() {
        let k = key(13);
        let file = seal_small(&k, &plaintext(70), 1, 1);
        for i in 0..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x01;
            assert!(open_all(&k, &bad).is_err(), "flip at byte {i} went unnoticed");
        }
    }

    #[test]
    fn hostile_header_sizes_are_refused_before_allocating() {
        let k = key(14);
        let mut file = seal(&k, b"x");
        file[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(StreamDecryptor::open(&k, Cursor::new(&file)), Err(CryptoError::Malformed { .. })));
        file[5..9].copy_from_slice(&0u32.to_be_bytes());
        assert!(matches!(StreamDecryptor::open(&k, Cursor::new(&file)), Err(CryptoError::Malformed { .. })));
    }

    #[derive(Deserialize)]
    struct VectorFile {
        vectors: Vec<Vector>,
    }

    #[derive(Deserialize)]
    struct Vector {
        name: String,
        stream_key: String,
        segment_size: u32,
        salt: String,
        nonce_prefix: String,
        plaintext: String,
        ciphertext: String,
    }

    #[test]
    fn stream_v1_matches_its_pinned_vectors() {
        let file: VectorFile =
            serde_json::from_str(include_str!("../../tests/vectors/stream_v1.json")).unwrap();
        assert!(!file.vectors.is_empty());
        for v in file.vectors {
            let k = SubKey::from_bytes(unhex(&v.stream_key).try_into().unwrap());
            let plain = unhex(&v.plaintext);
            let mut enc = StreamEncryptor::with_parameters_for_tests(
                &k,
                Vec::new(),
                v.segment_size,
                unhex(&v.salt).try_into().unwrap(),
                unhex(&v.nonce_prefix).try_into().unwrap(),
            )
            .unwrap();
            enc.write_all(&plain).unwrap();
            let (sealed, _) = enc.finish().unwrap();
            assert_eq!(hex(&sealed), v.ciphertext, "vector {} changed: the format is v1, add v2", v.name);
            assert_eq!(open_all(&k, &unhex(&v.ciphertext)).unwrap(), plain, "vector {}", v.name);
        }
    }

    proptest! {
        #[test]
        fn round_trip_any_plaintext_and_write_pattern(
            plain in proptest::collection::vec(any::<u8>(), 0..400),
            chunk in 1usize..80,
        ) {
            let k = key(20);
            let mut enc = StreamEncryptor::with_parameters_for_tests(&k, Vec::new(), SMALL, [3; SALT_LEN], [4; NONCE_PREFIX_LEN]).unwrap();
            for c in plain.chunks(chunk) {
                enc.write_all(c).unwrap();
            }
            let (file, summary) = enc.finish().unwrap();
            prop_assert_eq!(summary.segments, plain.len().div_ceil(SMALL as usize).max(1) as u64);
            prop_assert_eq!(open_all(&k, &file).unwrap(), plain);
        }

        #[test]
        fn read_range_matches_the_plaintext_slice(
            plain in proptest::collection::vec(any::<u8>(), 0..400),
            ranges in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..150), 1..8),
        ) {
            let k = key(21);
            let file = seal_small(&k, &plain, 5, 6);
            let mut dec = StreamDecryptor::open(&k, Cursor::new(&file)).unwrap();
            for (start, len) in ranges {
                let offset = start.index(plain.len() + 1);
                let end = (offset + len).min(plain.len());
                prop_assert_eq!(dec.read_range(offset as u64, len).unwrap(), &plain[offset..end]);
            }
        }

        #[test]
        fn flipping_any_byte_is_detected(
            plain in proptest::collection::vec(any::<u8>(), 0..200),
            pos in any::<prop::sample::Index>(),
            mask in 1u8..=255,
        ) {
            let k = key(22);
            let mut file = seal_small(&k, &plain, 7, 8);
            let i = pos.index(file.len());
            file[i] ^= mask;
            prop_assert!(open_all(&k, &file).is_err(), "flip at byte {} of {} went unnoticed", i, file.len());
        }
    }

    /// Prints fresh vectors in the committed format; run by hand only when adding a new version.
    #[test]
    #[ignore]
    fn print_stream_vectors() {
        let cases: [(&str, u32, usize); 2] =
            [("three segments, small size", SMALL, 80), ("empty, default size", DEFAULT_SEGMENT_SIZE, 0)];
        for (name, segment_size, len) in cases {
            let key_bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
            let salt: [u8; SALT_LEN] = std::array::from_fn(|i| 0xa0 ^ i as u8);
            let prefix: [u8; NONCE_PREFIX_LEN] = std::array::from_fn(|i| 0x50 + i as u8);
            let plain: Vec<u8> = "现场检查笔录 on-site record; evidence sealed at capture. "
                .bytes()
                .cycle()
                .take(len)
                .collect();
            let mut enc = StreamEncryptor::with_parameters_for_tests(
                &SubKey::from_bytes(key_bytes),
                Vec::new(),
                segment_size,
                salt,
                prefix,
            )
            .unwrap();
            enc.write_all(&plain).unwrap();
            let (sealed, _) = enc.finish().unwrap();
            println!(
                "{{\"name\": \"{name}\", \"stream_key\": \"{}\", \"segment_size\": {segment_size}, \"salt\": \"{}\", \"nonce_prefix\": \"{}\", \"plaintext\": \"{}\", \"ciphertext\": \"{}\"}}",
                hex(&key_bytes),
                hex(&salt),
                hex(&prefix),
                hex(&plain),
                hex(&sealed)
            );
        }
    }
    // ---- v2: padded to a size class ----

    fn seal_padded(key: &SubKey, plain: &[u8]) -> Vec<u8> {
        let mut enc = StreamEncryptor::new_padded(key, Vec::new()).unwrap();
        enc.write_all(plain).unwrap();
        let (out, summary) = enc.finish().unwrap();
        assert_eq!(summary.plaintext_len, plain.len() as u64);
        assert_eq!(summary.ciphertext_len, out.len() as u64);
        out
    }

    #[test]
    fn padded_files_round_trip_and_show_only_the_data() {
        let seg = DEFAULT_SEGMENT_SIZE as usize;
        let k = key(30);
        for len in [0, 1, seg - 9, seg - 8, seg, 3 * seg + 17, 2_261_836] {
            let plain = plaintext(len);
            let sealed = seal_padded(&k, &plain);
            assert_eq!(sealed.len() as u64, padded_encrypted_len(len as u64), "len {len}");
            assert_eq!(open_all(&k, &sealed).unwrap(), plain, "len {len}");
            let mut dec = StreamDecryptor::open(&k, Cursor::new(&sealed)).unwrap();
            assert_eq!(dec.plaintext_len(), len as u64);
            assert_eq!(
                dec.read_range(len.saturating_sub(5) as u64, 100).unwrap(),
                plain[len.saturating_sub(5)..]
            );
            let mut read = Vec::new();
            dec.seek(SeekFrom::Start(0)).unwrap();
            dec.read_to_end(&mut read).unwrap();
            assert_eq!(read, plain, "Read stops at the data's end, len {len}");
        }
    }

    #[test]
    fn lengths_in_one_size_class_give_files_of_one_length() {
        let k = key(31);
        // 2 261 836 and 2 280 000 bytes are both in the class ending at 35 × 64 KiB (a 12 MP photo).
        let (a, b) = (seal_padded(&k, &plaintext(2_261_836)), seal_padded(&k, &plaintext(2_280_000)));
        assert_eq!(a.len(), b.len());
        // One byte past the class boundary is the next class.
        let c = seal_padded(&k, &plaintext(35 * 65_536 - 8 + 1));
        assert!(c.len() > a.len());
        // Small files all take the floor.
        assert_eq!(seal_padded(&k, b"x").len(), seal_padded(&k, &plaintext(60_000)).len());
    }

    #[test]
    fn padded_files_detect_tampering_truncation_and_a_lying_length() {
        let k = key(32);
        let sealed = seal_padded(&k, &plaintext(70_000));
        for i in (0..sealed.len()).step_by(509).chain(sealed.len() - 24..sealed.len()) {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(open_all(&k, &bad).is_err(), "flip at {i}");
        }
        assert!(open_all(&k, &sealed[..sealed.len() - 1]).is_err(), "truncated");
        let seg = SEALED_SEGMENT_DEFAULT;
        assert!(open_all(&k, &sealed[..HEADER_LEN + seg]).is_err(), "cut at a segment boundary");
        // A v2 header over a plaintext that is not the canonical form: authentic, but refused.
        let forged = |plain: &[u8]| {
            let mut enc = StreamEncryptor::padded_with_parameters_for_tests(
                &k,
                Vec::new(),
                DEFAULT_SEGMENT_SIZE,
                [3; SALT_LEN],
                [4; NONCE_PREFIX_LEN],
            )
            .unwrap();
            enc.padded = false;
            enc.write_all(plain).unwrap();
            enc.finish().unwrap().0
        };
        let class = padded_plaintext_len(100) as usize;
        let mut lying = vec![0u8; class];
        lying[class - 8..].copy_from_slice(&(class as u64 - 7).to_be_bytes());
        assert!(StreamDecryptor::open(&k, Cursor::new(forged(&lying))).is_err(), "length past the data");
        let mut wrong_class = vec![0u8; class];
        wrong_class[class - 8..].copy_from_slice(&(class as u64).to_be_bytes());
        assert!(
            StreamDecryptor::open(&k, Cursor::new(forged(&wrong_class))).is_err(),
            "class of another length"
        );
        let mut dirty = vec![0u8; class];
        dirty[class - 8..].copy_from_slice(&100u64.to_be_bytes());
        dirty[150] = 1;
        let forged_dirty = forged(&dirty);
        let mut dec = StreamDecryptor::open(&k, Cursor::new(&forged_dirty)).unwrap();
        assert!(dec.verify_all().is_err(), "non-zero padding");
        // The honest form of the same data opens.
        dirty[150] = 0;
        assert_eq!(open_all(&k, &forged(&dirty)).unwrap(), vec![0u8; 100]);
    }

    const SEALED_SEGMENT_DEFAULT: usize = DEFAULT_SEGMENT_SIZE as usize + TAG_LEN;

    #[derive(Deserialize)]
    struct PaddedVectorFile {
        vectors: Vec<PaddedVector>,
    }

    #[derive(Deserialize)]
    struct PaddedVector {
        name: String,
        stream_key: String,
        segment_size: u32,
        salt: String,
        nonce_prefix: String,
        plaintext: String,
        ciphertext_len: usize,
        ciphertext_sha256: String,
        header: String,
    }

    fn padded_vector_file(v: &PaddedVector) -> Vec<u8> {
        let mut enc = StreamEncryptor::padded_with_parameters_for_tests(
            &SubKey::from_bytes(unhex(&v.stream_key).try_into().unwrap()),
            Vec::new(),
            v.segment_size,
            unhex(&v.salt).try_into().unwrap(),
            unhex(&v.nonce_prefix).try_into().unwrap(),
        )
        .unwrap();
        enc.write_all(&unhex(&v.plaintext)).unwrap();
        enc.finish().unwrap().0
    }

    /// The padded files are 64 KiB and more, so the vector pins their length, SHA-256 and header.
    #[test]
    fn stream_v2_matches_its_pinned_vectors() {
        let file: PaddedVectorFile =
            serde_json::from_str(include_str!("../../tests/vectors/stream_v2.json")).unwrap();
        assert!(!file.vectors.is_empty());
        for v in file.vectors {
            let sealed = padded_vector_file(&v);
            assert_eq!(sealed.len(), v.ciphertext_len, "vector {}: the format is v2, add v3", v.name);
            assert_eq!(hex(&sealed[..HEADER_LEN]), v.header, "vector {}", v.name);
            let sha = hex(ring::digest::digest(&ring::digest::SHA256, &sealed).as_ref());
            assert_eq!(sha, v.ciphertext_sha256, "vector {}: the format is v2, add v3", v.name);
            let k = SubKey::from_bytes(unhex(&v.stream_key).try_into().unwrap());
            assert_eq!(open_all(&k, &sealed).unwrap(), unhex(&v.plaintext), "vector {}", v.name);
        }
    }

    #[test]
    #[ignore = "prints new vectors; run by hand for a new format version only"]
    fn print_stream_v2_vectors() {
        let cases: [(&str, u32, usize); 2] = [
            ("small segments, padded to the floor", SMALL, 80),
            ("empty, default size", DEFAULT_SEGMENT_SIZE, 0),
        ];
        for (name, segment_size, len) in cases {
            let key_bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
            let salt: [u8; SALT_LEN] = std::array::from_fn(|i| 0xa0 ^ i as u8);
            let prefix: [u8; NONCE_PREFIX_LEN] = std::array::from_fn(|i| 0x50 + i as u8);
            let plain: Vec<u8> = "现场检查笔录 on-site record; evidence sealed at capture. "
                .bytes()
                .cycle()
                .take(len)
                .collect();
            let v = PaddedVector {
                name: name.into(),
                stream_key: hex(&key_bytes),
                segment_size,
                salt: hex(&salt),
                nonce_prefix: hex(&prefix),
                plaintext: hex(&plain),
                ciphertext_len: 0,
                ciphertext_sha256: String::new(),
                header: String::new(),
            };
            let sealed = padded_vector_file(&v);
            println!(
                "{{\"name\": \"{name}\", \"stream_key\": \"{}\", \"segment_size\": {segment_size}, \"salt\": \"{}\", \"nonce_prefix\": \"{}\", \"plaintext\": \"{}\", \"ciphertext_len\": {}, \"ciphertext_sha256\": \"{}\", \"header\": \"{}\"}}",
                v.stream_key,
                v.salt,
                v.nonce_prefix,
                v.plaintext,
                sealed.len(),
                hex(ring::digest::digest(&ring::digest::SHA256, &sealed).as_ref()),
                hex(&sealed[..HEADER_LEN])
            );
        }
    }
}

//! Test media made by the tests themselves: real JPEGs (the `image` crate's encoder) carrying real
//! EXIF (kamadak-exif's writer) inserted as an APP1 segment, plus hostile and broken variants, a
//! large video-like file written in a streaming fashion, and a short WAV.

use std::{
    fs::File,
    io::{self, BufWriter, Cursor, Write},
    path::Path,
};

use exif::{Field, In, Rational, Tag, Value, experimental::Writer};
use image::{Rgb, RgbImage, codecs::jpeg::JpegEncoder};

/// A GPS position as a camera writes it: unsigned degrees/minutes/seconds plus N/S, E/W refs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
    pub altitude_m: Option<f64>,
    pub h_error_m: Option<f64>,
}

/// What to put in a generated photo.
#[derive(Debug, Clone)]
pub struct PhotoSpec {
    pub width: u32,
    pub height: u32,
    pub make: Option<&'static str>,
    pub model: Option<&'static str>,
    pub orientation: Option<u16>,
    /// `YYYY:MM:DD HH:MM:SS`
    pub date_time_original: Option<&'static str>,
    /// `+08:00`
    pub offset_time_original: Option<&'static str>,
    pub gps: Option<Gps>,
    pub thumbnail: bool,
    /// TIFF byte order: Android phones mostly write `II` (little endian), Apple `MM`.
    pub little_endian: bool,
    /// No APP1 at all.
    pub no_exif: bool,
    pub quality: u8,
}

impl Default for PhotoSpec {
    fn default() -> Self {
        Self {
            width: 320,
            height: 240,
            make: Some("HUAWEI"),
            model: Some("ALN-AL00"),
            orientation: Some(1),
            date_time_original: Some("2024:05:06 14:30:15"),
            offset_time_original: Some("+08:00"),
            gps: Some(Gps { lat: 30.2741, lon: 120.1551, altitude_m: Some(12.5), h_error_m: Some(4.0) }),
            thumbnail: true,
            little_endian: true,
            no_exif: false,
            quality: 85,
        }
    }
}

/// The makes the tests cover, with the byte order each vendor's cameras write.
pub const MAKES: [(&str, &str, bool); 5] = [
    ("HUAWEI", "ALN-AL00", true),
    ("Xiaomi", "23127PN0CC", true),
    ("OPPO", "PHZ110", true),
    ("Apple", "iPhone 15 Pro", false),
    ("samsung", "SM-S9280", true),
];

/// Pixels with a visible left/right split (to check rotation) and mild texture so the JPEG has a
/// realistic size. Deterministic for a given size.
pub fn pixels(width: u32, height: u32) -> RgbImage {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (u64::from(width) << 32 | u64::from(height));
    RgbImage::from_fn(width, height, |x, y| {
        seed = xorshift(seed);
        let noise = (seed >> 59) as u8; // 0..31
        let base = if x < width / 2 { [200u8, 40, 40] } else { [40u8, 40, 200] };
        let shade = ((x + y) % 64) as u8;
        Rgb([
            base[0].saturating_add(noise).saturating_sub(shade / 4),
            base[1].saturating_add(noise / 2),
            base[2].saturating_add(shade / 2),
        ])
    })
}

pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality).encode_image(img).expect("encode test JPEG");
    out
}

fn ascii(tag: Tag, s: &str) -> Field {
    Field { tag, ifd_num: In::PRIMARY, value: Value::Ascii(vec![s.as_bytes().to_vec()]) }
}

fn rational(tag: Tag, parts: &[(u32, u32)]) -> Field {
    Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Rational(parts.iter().map(|&p| Rational::from(p)).collect()),
    }
}

/// Degrees as EXIF DMS rationals: whole degrees, whole minutes, seconds in 1/10000.
fn dms(value: f64) -> [(u32, u32); 3] {
    let v = value.abs();
    let deg = v.trunc();
    let min = ((v - deg) * 60.0).trunc();
    let sec = ((v - deg) * 60.0 - min) * 60.0;
    [(deg as u32, 1), (min as u32, 1), ((sec * 10_000.0).round() as u32, 10_000)]
}

/// The TIFF structure of an EXIF block for `spec` (what follows `Exif\0\0` in APP1).
pub fn exif_tiff(spec: &PhotoSpec, thumbnail_jpeg: Option<&[u8]>) -> Vec<u8> {
    let mut fields = Vec::new();
    if let Some(m) = spec.make {
        fields.push(ascii(Tag::Make, m));
    }
    if let Some(m) = spec.model {
        fields.push(ascii(Tag::Model, m));
    }
    if let Some(o) = spec.orientation {
        fields.push(Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![o]) });
    }
    if let Some(dt) = spec.date_time_original {
        fields.push(ascii(Tag::DateTimeOriginal, dt));
    }
    if let Some(off) = spec.offset_time_original {
        fields.push(ascii(Tag::OffsetTimeOriginal, off));
    }
    if let Some(g) = spec.gps {
        fields.push(ascii(Tag::GPSLatitudeRef, if g.lat < 0.0 { "S" } else { "N" }));
        fields.push(rational(Tag::GPSLatitude, &dms(g.lat)));
        fields.push(ascii(Tag::GPSLongitudeRef, if g.lon < 0.0 { "W" } else { "E" }));
        fields.push(rational(Tag::GPSLongitude, &dms(g.lon)));
        if let Some(alt) = g.altitude_m {
            fields.push(Field {
                tag: Tag::GPSAltitudeRef,
                ifd_num: In::PRIMARY,
                value: Value::Byte(vec![u8::from(alt < 0.0)]),
            });
            fields.push(rational(Tag::GPSAltitude, &[((alt.abs() * 100.0).round() as u32, 100)]));
        }
        if let Some(e) = g.h_error_m {
            fields.push(rational(Tag::GPSHPositioningError, &[((e * 100.0).round() as u32, 100)]));
        }
        fields.push(ascii(Tag::GPSDateStamp, "2024:05:06"));
        fields.push(rational(Tag::GPSTimeStamp, &[(6, 1), (30, 1), (14, 1)]));
    }
    // IFD1 must hold at least one field besides the thumbnail for some readers; Compression = 6
    // (JPEG) is what cameras write there.
    let compression = Field { tag: Tag::Compression, ifd_num: In::THUMBNAIL, value: Value::Short(vec![6]) };
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    if let Some(t) = thumbnail_jpeg {
        writer.push_field(&compression);
        writer.set_jpeg(t, In::THUMBNAIL);
    }
    let mut buf = Cursor::new(Vec::new());
    writer.write(&mut buf, spec.little_endian).expect("write test EXIF");
    buf.into_inner()
}

/// Inserts `tiff` as an APP1 `Exif` segment right after SOI.
pub fn insert_app1(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let len = tiff.len() + 6 + 2;
    assert!(len <= 0xFFFF, "EXIF block too large for one APP1 segment");
    let mut out = Vec::with_capacity(jpeg.len() + len + 2);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE1]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The embedded thumbnail cameras write: 160×120, same picture.
pub fn thumbnail_for(width: u32, height: u32) -> Vec<u8> {
    let (tw, th) = if width >= height { (160, 160 * height / width) } else { (160 * width / height, 160) };
    encode_jpeg(&image::imageops::thumbnail(&pixels(width, height), tw.max(1), th.max(1)), 75)
}

/// A complete photo for `spec`.
pub fn photo(spec: &PhotoSpec) -> Vec<u8> {
    let jpeg = encode_jpeg(&pixels(spec.width, spec.height), spec.quality);
    if spec.no_exif {
        return jpeg;
    }
    let thumb = spec.thumbnail.then(|| thumbnail_for(spec.width, spec.height));
    insert_app1(&jpeg, &exif_tiff(spec, thumb.as_deref()))
}

/// A photo by one of [`MAKES`].
pub fn photo_by(make_index: usize) -> Vec<u8> {
    let (make, model, le) = MAKES[make_index];
    photo(&PhotoSpec { make: Some(make), model: Some(model), little_endian: le, ..Default::default() })
}

/// A 12-megapixel (4000×3000) photo of roughly 3 MB, with or without an EXIF thumbnail.
pub fn photo_12mp(thumbnail: bool) -> Vec<u8> {
    photo(&PhotoSpec { width: 4000, height: 3000, thumbnail, quality: 80, ..Default::default() })
}

/// The ways a hostile EXIF block lies about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExifAttack {
    /// IFD0 claims 65,535 entries in a block that holds a handful.
    EntryCount,
    /// The Make field claims 2^31 − 1 characters at an offset past the block.
    FieldCount,
    /// The Exif sub-IFD pointer points 4 GiB away.
    SubIfdOffset,
    /// IFD0's next-IFD pointer points back at itself.
    IfdLoop,
}

pub const EXIF_ATTACKS: [ExifAttack; 4] =
    [ExifAttack::EntryCount, ExifAttack::FieldCount, ExifAttack::SubIfdOffset, ExifAttack::IfdLoop];

/// A real JPEG whose (otherwise valid) EXIF block carries `attack`.
pub fn hostile_exif_photo(attack: ExifAttack) -> Vec<u8> {
    let spec = PhotoSpec::default();
    let mut tiff = exif_tiff(&spec, None);
    let le = spec.little_endian;
    let r16 = |b: &[u8], at: usize| {
        if le { u16::from_le_bytes([b[at], b[at + 1]]) } else { u16::from_be_bytes([b[at], b[at + 1]]) }
    };
    let w32 = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
    let ifd0 = 8usize;
    let count = usize::from(r16(&tiff, ifd0));
    let entry_of = |tiff: &[u8], tag: u16| {
        (0..count).map(|i| ifd0 + 2 + 12 * i).find(|&at| r16(tiff, at) == tag).expect("tag in IFD0")
    };
    match attack {
        ExifAttack::EntryCount => {
            let v = if le { 0xFFFFu16.to_le_bytes() } else { 0xFFFFu16.to_be_bytes() };
            tiff[ifd0..ifd0 + 2].copy_from_slice(&v);
        }
        ExifAttack::FieldCount => {
            let at = entry_of(&tiff, 0x010F);
            tiff[at + 4..at + 8].copy_from_slice(&w32(0x7FFF_FFFF));
            tiff[at + 8..at + 12].copy_from_slice(&w32(0xFFFF_FF00));
        }
        ExifAttack::SubIfdOffset => {
            let at = entry_of(&tiff, 0x8769);
            tiff[at + 8..at + 12].copy_from_slice(&w32(0xFFFF_FFF0));
        }
        ExifAttack::IfdLoop => {
            let next = ifd0 + 2 + 12 * count;
            tiff[next..next + 4].copy_from_slice(&w32(ifd0 as u32));
        }
    }
    let jpeg = encode_jpeg(&pixels(spec.width, spec.height), spec.quality);
    insert_app1(&jpeg, &tiff)
}

/// The first `keep` bytes of `bytes`: a photo the camera had not finished writing.
pub fn truncated(bytes: &[u8], keep: usize) -> Vec<u8> {
    bytes[..keep.min(bytes.len())].to_vec()
}

/// A minimal `moov` with a version-0 `mvhd` (1000 units per second, 10 s): what a camera writes
/// when recording stops.
pub fn minimal_moov() -> Vec<u8> {
    let mut mvhd = vec![0u8; 4]; // version 0, flags
    mvhd.extend_from_slice(&3_797_829_014u32.to_be_bytes()); // 2024-05-06T06:30:14Z since 1904
    mvhd.extend_from_slice(&3_797_829_014u32.to_be_bytes());
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&10_000u32.to_be_bytes());
    mvhd.resize(100, 0);
    let mut moov = ((8 + 8 + mvhd.len()) as u32).to_be_bytes().to_vec();
    moov.extend_from_slice(b"moov");
    moov.extend_from_slice(&((8 + mvhd.len()) as u32).to_be_bytes());
    moov.extend_from_slice(b"mvhd");
    moov.extend_from_slice(&mvhd);
    moov
}

/// Writes a video-like file of `size` bytes: an MP4 `ftyp` box, an `mdat` box of pseudo-random
/// bytes generated and written in 1 MiB pieces so memory stays flat for any size, then the `moov`
/// ([`minimal_moov`]), so the container is complete.
pub fn write_video_like(path: &Path, size: u64) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let ftyp: &[u8] = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42";
    let moov = minimal_moov();
    assert!(size >= (ftyp.len() + 16 + moov.len()) as u64, "a video-like file needs room for its boxes");
    out.write_all(ftyp)?;
    let mdat_len = size - ftyp.len() as u64 - moov.len() as u64;
    let mut written = 0u64;
    if let Ok(small) = u32::try_from(mdat_len) {
        out.write_all(&small.to_be_bytes())?;
        out.write_all(b"mdat")?;
        written += 8;
    } else {
        out.write_all(&1u32.to_be_bytes())?;
        out.write_all(b"mdat")?;
        out.write_all(&mdat_len.to_be_bytes())?;
        written += 16;
    }
    let mut seed = 0x2545_F491_4F6C_DD1Du64 ^ size;
    let mut chunk = vec![0u8; 1 << 20];
    while written < mdat_len {
        let n = (mdat_len - written).min(chunk.len() as u64) as usize;
        for word in chunk[..n].chunks_mut(8) {
            seed = xorshift(seed);
            let bytes = seed.to_le_bytes();
            word.copy_from_slice(&bytes[..word.len()]);
        }
        out.write_all(&chunk[..n])?;
        written += n as u64;
    }
    out.write_all(&moov)?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// A short mono 16-bit PCM WAV: a 440 Hz tone.
pub fn wav(seconds: f32) -> Vec<u8> {
    let rate = 8_000u32;
    let samples = (rate as f32 * seconds) as u32;
    let data_len = samples * 2;
    let mut v = Vec::with_capacity(44 + data_len as usize);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes()); // PCM
    v.extend_from_slice(&1u16.to_le_bytes()); // mono
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 2).to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let t = i as f32 / rate as f32;
        let s = (t * 440.0 * std::f32::consts::TAU).sin() * 12_000.0;
        v.extend_from_slice(&(s as i16).to_le_bytes());
    }
    v
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

//! Photos for the demo, made on the fly: a real JPEG (the `image` encoder) carrying real EXIF
//! (kamadak-exif's writer) with the capture time, camera and GPS position, as a phone writes it.

use std::io::Cursor;

use chrono::{DateTime, FixedOffset};
use exif::{Field, In, Rational, Tag, Value, experimental::Writer};
use image::{Rgb, RgbImage, codecs::jpeg::JpegEncoder};

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

fn dms(value: f64) -> [(u32, u32); 3] {
    let v = value.abs();
    let deg = v.trunc();
    let min = ((v - deg) * 60.0).trunc();
    let sec = ((v - deg) * 60.0 - min) * 60.0;
    [(deg as u32, 1), (min as u32, 1), ((sec * 10_000.0).round() as u32, 10_000)]
}

/// A 640×480 photo of a coloured scene (varied by `seed`) taken at `at`, `lat`/`lon`.
pub fn photo(seed: u32, at: DateTime<FixedOffset>, lat: f64, lon: f64) -> Result<Vec<u8>, String> {
    let img = RgbImage::from_fn(640, 480, |x, y| {
        let v = (x.wrapping_mul(7) ^ y.wrapping_mul(13)).wrapping_add(seed * 40);
        Rgb([(v % 200) as u8 + 30, ((x + seed * 17) % 160) as u8 + 60, ((y * 3) % 180) as u8 + 40])
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 85).encode_image(&img).map_err(|e| e.to_string())?;

    let utc = at.naive_utc();
    let fields = [
        ascii(Tag::Make, "HUAWEI"),
        ascii(Tag::Model, "ALN-AL00"),
        Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![1]) },
        ascii(Tag::DateTimeOriginal, &at.format("%Y:%m:%d %H:%M:%S").to_string()),
        ascii(Tag::OffsetTimeOriginal, &at.format("%:z").to_string()),
        ascii(Tag::GPSLatitudeRef, if lat < 0.0 { "S" } else { "N" }),
        rational(Tag::GPSLatitude, &dms(lat)),
        ascii(Tag::GPSLongitudeRef, if lon < 0.0 { "W" } else { "E" }),
        rational(Tag::GPSLongitude, &dms(lon)),
        rational(Tag::GPSHPositioningError, &[(500, 100)]),
        ascii(Tag::GPSDateStamp, &utc.format("%Y:%m:%d").to_string()),
        rational(
            Tag::GPSTimeStamp,
            &[
                (utc.format("%H").to_string().parse().unwrap_or(0), 1),
                (utc.format("%M").to_string().parse().unwrap_or(0), 1),
                (utc.format("%S").to_string().parse().unwrap_or(0), 1),
            ],
        ),
    ];
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, true).map_err(|e| e.to_string())?;
    let tiff = tiff.into_inner();
    let len = tiff.len() + 8;
    let mut out = Vec::with_capacity(jpeg.len() + len + 2);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE1]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    Ok(out)
}

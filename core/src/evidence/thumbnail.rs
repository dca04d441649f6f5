//! 缩略图 — the small preview shown in evidence lists.
//!
//! The camera's own EXIF thumbnail is used when there is one (decoding 20 KB instead of 3 MB is what
//! keeps photo ingest within a few times the cost of hashing it); otherwise the photo is decoded
//! under allocation limits — a JPEG at a reduced scale straight from its DCT, a PNG with `image` — and
//! reduced. Either way the EXIF orientation is applied, so the
//! preview stands the way the photographer held the phone, and the result is a JPEG no larger than
//! [`MAX_EDGE_PX`] on its longer side. The original is never touched.

use std::{
    fs::File,
    io::{BufRead, BufReader, Seek},
    path::Path,
};

use image::{
    DynamicImage, ImageFormat, ImageReader, Limits, codecs::jpeg::JpegEncoder, metadata::Orientation,
};

use super::MediaType;

/// Longest edge of a stored thumbnail.
pub const MAX_EDGE_PX: u32 = 320;
const JPEG_QUALITY: u8 = 80;
/// Photos larger than this are not decoded for a preview (a 200 MP sensor is ~16k px wide).
const MAX_DECODE_EDGE_PX: u32 = 20_000;
const MAX_DECODE_ALLOC: u64 = 768 << 20;
/// Larger "photos" get no decoded preview: the decoder holds its whole input in memory.
pub const MAX_DECODE_INPUT: u64 = 64 << 20;

/// Where a thumbnail came from, recorded in the read model for diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbnailSource {
    Exif,
    Decoded,
}

/// Makes the thumbnail for the photo at `source`. See [`make_thumbnail_from`].
pub fn make_thumbnail(
    exif_thumbnail: Option<&[u8]>,
    source: &Path,
    media: MediaType,
    orientation: Option<u8>,
) -> Option<(Vec<u8>, ThumbnailSource)> {
    let open = || {
        let file = File::open(source).ok()?;
        let size = file.metadata().ok()?.len();
        Some((BufReader::new(file), size))
    };
    make_thumbnail_from(exif_thumbnail, open, media, orientation)
}

/// Makes the thumbnail for a photo. `open` supplies the full image (reader and size) only when
/// there is no usable EXIF thumbnail. `None` when the media cannot be previewed (video, audio, PDF,
/// HEIC without an EXIF thumbnail, a photo over [`MAX_DECODE_INPUT`]) or does not decode: a
/// missing preview never blocks sealing the evidence itself.
pub fn make_thumbnail_from<R: BufRead + Seek>(
    exif_thumbnail: Option<&[u8]>,
    open: impl FnOnce() -> Option<(R, u64)>,
    media: MediaType,
    orientation: Option<u8>,
) -> Option<(Vec<u8>, ThumbnailSource)> {
    let orientation = orientation.and_then(Orientation::from_exif).unwrap_or(Orientation::NoTransforms);
    if let Some(img) = exif_thumbnail.and_then(decode_embedded) {
        return Some((encode(img, orientation)?, ThumbnailSource::Exif));
    }
    if !matches!(media, MediaType::Jpeg | MediaType::Png) {
        return None;
    }
    let (reader, size) = open()?;
    // The decoders hold their whole input (or its coefficients) in memory.
    if size > MAX_DECODE_INPUT {
        return None;
    }
    let img = if media == MediaType::Jpeg {
        decode_jpeg_reduced(reader)?
    } else {
        let mut reader = ImageReader::with_format(reader, ImageFormat::Png);
        reader.limits(decode_limits());
        reader.decode().ok()?
    };
    Some((encode(img.thumbnail(MAX_EDGE_PX, MAX_EDGE_PX), orientation)?, ThumbnailSource::Decoded))
}

/// Decodes a JPEG with its inverse DCT scaled down (by up to 8 per side) to the smallest size that
/// still covers [`MAX_EDGE_PX`]: a 12 MP photo yields 500 × 375 pixels for a fraction of the work
/// and memory of a full decode.
fn decode_jpeg_reduced<R: BufRead>(reader: R) -> Option<DynamicImage> {
    use jpeg_decoder::{Decoder, PixelFormat};
    let mut decoder = Decoder::new(reader);
    decoder.set_max_decoding_buffer_size(MAX_DECODE_ALLOC as usize);
    decoder.read_info().ok()?;
    let info = decoder.info()?;
    if u32::from(info.width.max(info.height)) > MAX_DECODE_EDGE_PX {
        return None;
    }
    let (width, height) = decoder.scale(MAX_EDGE_PX as u16, MAX_EDGE_PX as u16).ok()?;
    let pixels = decoder.decode().ok()?;
    let (width, height) = (u32::from(width), u32::from(height));
    match decoder.info()?.pixel_format {
        PixelFormat::RGB24 => image::RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8),
        PixelFormat::L8 => image::GrayImage::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8),
        // CMYK and 16-bit greyscale JPEGs do not come out of phone cameras; no preview rather
        // than a guessed colour conversion.
        PixelFormat::CMYK32 | PixelFormat::L16 => None,
    }
}

fn decode_embedded(bytes: &[u8]) -> Option<DynamicImage> {
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), ImageFormat::Jpeg);
    reader.limits(decode_limits());
    let img = reader.decode().ok()?;
    Some(if img.width().max(img.height()) > MAX_EDGE_PX {
        img.thumbnail(MAX_EDGE_PX, MAX_EDGE_PX)
    } else {
        img
    })
}

fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_EDGE_PX);
    limits.max_image_height = Some(MAX_DECODE_EDGE_PX);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

fn encode(mut img: DynamicImage, orientation: Orientation) -> Option<Vec<u8>> {
    img.apply_orientation(orientation);
    let rgb = img.into_rgb8();
    let mut out = Vec::with_capacity(16 * 1024);
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(&rgb).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GenericImageView, Rgb, RgbImage};

    /// A 64×32 image whose left half is red and right half blue, so a rotation is visible.
    fn sample_jpeg() -> Vec<u8> {
        let img = RgbImage::from_fn(64, 32, |x, _| if x < 32 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 95).encode_image(&img).unwrap();
        out
    }

    fn decode(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).unwrap()
    }

    #[test]
    fn orientation_six_turns_the_preview_upright() {
        let (thumb, src) =
            make_thumbnail(Some(&sample_jpeg()), Path::new("/nonexistent"), MediaType::Jpeg, Some(6))
                .unwrap();
        assert_eq!(src, ThumbnailSource::Exif);
        let img = decode(&thumb);
        assert_eq!(img.dimensions(), (32, 64));
        // Orientation 6 = rotate 90° clockwise: the red left half ends up on top.
        let top = img.get_pixel(16, 8).0;
        let bottom = img.get_pixel(16, 56).0;
        assert!(top[0] > 200 && top[2] < 60, "{top:?}");
        assert!(bottom[2] > 200 && bottom[0] < 60, "{bottom:?}");
    }

    #[test]
    fn every_orientation_yields_the_expected_shape() {
        for o in 1..=8u8 {
            let (thumb, _) =
                make_thumbnail(Some(&sample_jpeg()), Path::new("/nonexistent"), MediaType::Jpeg, Some(o))
                    .unwrap();
            let dims = decode(&thumb).dimensions();
            let expected = if o >= 5 { (32, 64) } else { (64, 32) };
            assert_eq!(dims, expected, "orientation {o}");
        }
    }

    #[test]
    fn a_large_photo_without_an_exif_thumbnail_gets_a_reduced_preview_of_the_right_shape() {
        let img =
            RgbImage::from_fn(2400, 1200, |x, _| if x < 1200 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(&mut bytes, 90).encode_image(&img).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.jpg");
        std::fs::write(&path, bytes).unwrap();

        let (thumb, src) = make_thumbnail(None, &path, MediaType::Jpeg, Some(6)).unwrap();

        assert_eq!(src, ThumbnailSource::Decoded);
        let preview = decode(&thumb);
        assert_eq!(preview.dimensions(), (160, 320), "reduced to 320 on the long edge, then turned upright");
        let top = preview.get_pixel(80, 40).0;
        let bottom = preview.get_pixel(80, 280).0;
        assert!(top[0] > 200 && top[2] < 60, "{top:?}");
        assert!(bottom[2] > 200 && bottom[0] < 60, "{bottom:?}");
    }

    #[test]
    fn undecodable_embedded_thumbnail_falls_back_and_video_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jpg");
        std::fs::write(&path, sample_jpeg()).unwrap();
        let (_, src) = make_thumbnail(Some(b"\xFF\xD8garbage"), &path, MediaType::Jpeg, None).unwrap();
        assert_eq!(src, ThumbnailSource::Decoded);
        assert!(make_thumbnail(None, &path, MediaType::Mp4, None).is_none());
    }
}

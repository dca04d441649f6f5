//! 缩略图 — the small preview shown in evidence lists.
//!
//! The camera's own EXIF thumbnail is used when there is one (decoding 20 KB instead of 3 MB is what
//! keeps photo ingest within a few times the cost of hashing it); otherwise the photo is decoded —
//! a JPEG at a reduced scale straight from its DCT, a PNG with `image` — and reduced. Either way
//! the EXIF orientation is applied, so the preview stands the way the photographer held the phone,
//! and the result is a JPEG no larger than [`MAX_EDGE_PX`] on its longer side. An EXIF thumbnail
//! that decodes, is that small already and needs no turning is kept byte for byte. The original
//! is never touched.
//!
//! Memory is budgeted before any decode starts, from the header alone: a JPEG's frame header
//! (dimensions, sampling factors, progressive or not — a progressive decoder keeps every DCT
//! coefficient of the full image, 128 bytes per 8×8 block) and a PNG's IHDR. A photo whose decode
//! would need more than [`DECODE_BUDGET`] gets no preview and a `preview_over_budget` flag; the
//! decoder is never asked to allocate it. HEIC/HEIF/AVIF are not decoded here at all (no HEVC/AV1
//! decoder in the core; docs/decisions/0005-heic-previews.md): their preview is the platform's,
//! sealed as a derivative.

use std::{
    fs::File,
    io::{BufRead, BufReader, Seek, SeekFrom},
    path::Path,
};

use image::{
    DynamicImage, ImageFormat, ImageReader, Limits, codecs::jpeg::JpegEncoder, metadata::Orientation,
};

use super::{MediaType, jpeg::read_frame_header, png::PngHeader};

/// Longest edge of a stored thumbnail.
pub const MAX_EDGE_PX: u32 = 320;
const JPEG_QUALITY: u8 = 80;
/// Photos larger than this are not decoded for a preview (a 200 MP sensor is ~16k px wide).
const MAX_DECODE_EDGE_PX: u32 = 20_000;
/// Most memory a preview decode may need, judged from the header before decoding. A 12 MP
/// progressive photo (4:2:0) needs about 36 MiB; a 48 MP progressive one about 144 MiB and gets no
/// decoded preview (phones write an EXIF thumbnail into those).
pub const DECODE_BUDGET: u64 = 48 << 20;
/// Larger "photos" get no decoded preview.
pub const MAX_DECODE_INPUT: u64 = 64 << 20;
/// How far into a JPEG the frame header is looked for (it follows EXIF, ICC and MPF segments).
const FRAME_HEADER_BUDGET: u64 = 1 << 20;

/// Where a thumbnail came from, recorded in the read model for diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbnailSource {
    Exif,
    Decoded,
}

/// What the preview step produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preview {
    Made {
        jpeg: Vec<u8>,
        source: ThumbnailSource,
    },
    /// The header says a decode would need `needed_bytes`; nothing was decoded.
    OverBudget {
        needed_bytes: u64,
        budget_bytes: u64,
    },
    /// No preview: not a decodable photo here (video, audio, PDF, HEIF), too large a file, or it
    /// did not decode. A missing preview never blocks sealing the evidence itself.
    Unavailable,
}

impl Preview {
    pub fn made(self) -> Option<(Vec<u8>, ThumbnailSource)> {
        match self {
            Preview::Made { jpeg, source } => Some((jpeg, source)),
            _ => None,
        }
    }

    /// The flag this outcome earns, if any.
    pub fn flag(&self) -> Option<super::CaptureFlag> {
        match *self {
            Preview::OverBudget { needed_bytes, budget_bytes } => {
                Some(super::CaptureFlag::PreviewOverBudget { needed_bytes, budget_bytes })
            }
            _ => None,
        }
    }
}

/// Makes the thumbnail for the photo at `source`. See [`make_thumbnail_from`].
pub fn make_thumbnail(
    exif_thumbnail: Option<&[u8]>,
    source: &Path,
    media: MediaType,
    orientation: Option<u8>,
) -> Preview {
    let open = || {
        let file = File::open(source).ok()?;
        let size = file.metadata().ok()?.len();
        Some((BufReader::new(file), size))
    };
    make_thumbnail_from(exif_thumbnail, open, media, orientation)
}

/// Makes the thumbnail for a photo. `open` supplies the full image (reader and size) only when
/// there is no usable EXIF thumbnail.
pub fn make_thumbnail_from<R: BufRead + Seek>(
    exif_thumbnail: Option<&[u8]>,
    open: impl FnOnce() -> Option<(R, u64)>,
    media: MediaType,
    orientation: Option<u8>,
) -> Preview {
    let orientation = orientation.and_then(Orientation::from_exif).unwrap_or(Orientation::NoTransforms);
    if let Some(embedded) = exif_thumbnail {
        if let Some(img) = decode_embedded(embedded) {
            let small = img.width().max(img.height()) <= MAX_EDGE_PX;
            // Already a small upright JPEG that decodes: kept as the camera wrote it, since
            // decoding it again and re-encoding would only cost time and quality.
            if small && orientation == Orientation::NoTransforms {
                return Preview::Made { jpeg: embedded.to_vec(), source: ThumbnailSource::Exif };
            }
            let img = if small { img } else { img.thumbnail(MAX_EDGE_PX, MAX_EDGE_PX) };
            if let Some(jpeg) = encode(img, orientation) {
                return Preview::Made { jpeg, source: ThumbnailSource::Exif };
            }
        }
    }
    if !matches!(media, MediaType::Jpeg | MediaType::Png) {
        return Preview::Unavailable;
    }
    let Some((mut reader, size)) = open() else { return Preview::Unavailable };
    if size > MAX_DECODE_INPUT {
        return Preview::Unavailable;
    }
    let needed = match decode_cost(&mut reader, media) {
        Some(n) => n,
        None => return Preview::Unavailable,
    };
    if needed > DECODE_BUDGET {
        return Preview::OverBudget { needed_bytes: needed, budget_bytes: DECODE_BUDGET };
    }
    if reader.seek(SeekFrom::Start(0)).is_err() {
        return Preview::Unavailable;
    }
    let img = if media == MediaType::Jpeg {
        decode_jpeg_reduced(reader)
    } else {
        let mut reader = ImageReader::with_format(reader, ImageFormat::Png);
        reader.limits(decode_limits());
        reader.decode().ok()
    };
    match img.and_then(|img| encode(img.thumbnail(MAX_EDGE_PX, MAX_EDGE_PX), orientation)) {
        Some(jpeg) => Preview::Made { jpeg, source: ThumbnailSource::Decoded },
        None => Preview::Unavailable,
    }
}

/// Bytes the decode of this photo would need, from its header. `None` when the header is missing
/// or unusable (no preview then either).
fn decode_cost<R: BufRead>(reader: &mut R, media: MediaType) -> Option<u64> {
    match media {
        MediaType::Jpeg => {
            let frame = read_frame_header(reader, FRAME_HEADER_BUDGET).ok()??;
            if frame.width == 0 || frame.height == 0 || frame.components.is_empty() {
                return None;
            }
            if u32::from(frame.width.max(frame.height)) > MAX_DECODE_EDGE_PX {
                return Some(frame.decode_bytes(8).max(DECODE_BUDGET + 1));
            }
            Some(frame.decode_bytes(reduction(frame.width, frame.height)))
        }
        MediaType::Png => {
            let mut head = [0u8; 33];
            std::io::Read::read_exact(reader, &mut head).ok()?;
            if &head[12..16] != b"IHDR" {
                return None;
            }
            let ihdr = PngHeader::parse(&head[16..29])?;
            if ihdr.width.max(ihdr.height) > MAX_DECODE_EDGE_PX {
                return Some(ihdr.decode_bytes().max(DECODE_BUDGET + 1));
            }
            Some(ihdr.decode_bytes())
        }
        _ => None,
    }
}

/// The IDCT reduction (1, 2, 4 or 8) jpeg-decoder chooses for a [`MAX_EDGE_PX`] request: the
/// largest that still covers it.
fn reduction(width: u16, height: u16) -> u32 {
    let edge = u32::from(width.max(height));
    [8u32, 4, 2].into_iter().find(|s| edge.div_ceil(*s) >= MAX_EDGE_PX).unwrap_or(1)
}

/// Decodes a JPEG with its inverse DCT scaled down (by up to 8 per side) to the smallest size that
/// still covers [`MAX_EDGE_PX`]: a 12 MP photo yields 500 × 375 pixels for a fraction of the work
/// and memory of a full decode.
fn decode_jpeg_reduced<R: BufRead>(reader: R) -> Option<DynamicImage> {
    use jpeg_decoder::{Decoder, PixelFormat};
    let mut decoder = Decoder::new(reader);
    decoder.set_max_decoding_buffer_size(DECODE_BUDGET as usize);
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

/// The EXIF thumbnail decoded, within the decode limits; `None` if it is not a JPEG that decodes.
fn decode_embedded(bytes: &[u8]) -> Option<DynamicImage> {
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), ImageFormat::Jpeg);
    reader.limits(decode_limits());
    reader.decode().ok()
}

fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_EDGE_PX);
    limits.max_image_height = Some(MAX_DECODE_EDGE_PX);
    limits.max_alloc = Some(DECODE_BUDGET);
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
                .made()
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
    fn an_upright_small_exif_thumbnail_is_kept_byte_for_byte() {
        let embedded = sample_jpeg();
        for orientation in [None, Some(1)] {
            let (thumb, src) =
                make_thumbnail(Some(&embedded), Path::new("/nonexistent"), MediaType::Jpeg, orientation)
                    .made()
                    .unwrap();
            assert_eq!(src, ThumbnailSource::Exif);
            assert_eq!(thumb, embedded, "orientation {orientation:?}: not re-encoded");
        }
        // Turned, or larger than a thumbnail: re-encoded.
        let (turned, _) =
            make_thumbnail(Some(&embedded), Path::new("/nonexistent"), MediaType::Jpeg, Some(6))
                .made()
                .unwrap();
        assert_ne!(turned, embedded);
        let big = RgbImage::from_fn(640, 480, |x, _| Rgb([(x % 256) as u8, 0, 0]));
        let mut big_jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut big_jpeg, 90).encode_image(&big).unwrap();
        let (reduced, _) =
            make_thumbnail(Some(&big_jpeg), Path::new("/nonexistent"), MediaType::Jpeg, None).made().unwrap();
        assert_eq!(decode(&reduced).dimensions(), (320, 240));
    }

    #[test]
    fn every_orientation_yields_the_expected_shape() {
        for o in 1..=8u8 {
            let (thumb, _) =
                make_thumbnail(Some(&sample_jpeg()), Path::new("/nonexistent"), MediaType::Jpeg, Some(o))
                    .made()
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

        let (thumb, src) = make_thumbnail(None, &path, MediaType::Jpeg, Some(6)).made().unwrap();

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
        let (_, src) = make_thumbnail(Some(b"\xFF\xD8garbage"), &path, MediaType::Jpeg, None).made().unwrap();
        assert_eq!(src, ThumbnailSource::Decoded);
        assert_eq!(make_thumbnail(None, &path, MediaType::Mp4, None), Preview::Unavailable);
    }

    #[test]
    fn a_progressive_header_claiming_19999_square_is_over_budget_before_any_decode() {
        // SOI, SOF2 claiming 19999×19999 with 2×2 luma sampling, then nothing: no scan data at all.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC2, 0x00, 0x11, 8];
        jpeg.extend_from_slice(&19999u16.to_be_bytes());
        jpeg.extend_from_slice(&19999u16.to_be_bytes());
        jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.jpg");
        std::fs::write(&path, jpeg).unwrap();
        match make_thumbnail(None, &path, MediaType::Jpeg, None) {
            Preview::OverBudget { needed_bytes, budget_bytes } => {
                assert!(needed_bytes > 1 << 30 && budget_bytes == DECODE_BUDGET, "{needed_bytes}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_12_mp_progressive_photo_is_within_budget_and_a_48_mp_one_is_not() {
        use super::super::jpeg::{FrameComponent, FrameHeader};
        let frame = |width, height| FrameHeader {
            width,
            height,
            precision: 8,
            progressive: true,
            components: vec![
                FrameComponent { h: 2, v: 2 },
                FrameComponent { h: 1, v: 1 },
                FrameComponent { h: 1, v: 1 },
            ],
        };
        assert!(frame(4000, 3000).decode_bytes(reduction(4000, 3000)) < DECODE_BUDGET);
        assert!(frame(8000, 6000).decode_bytes(reduction(8000, 6000)) > DECODE_BUDGET);
    }
}

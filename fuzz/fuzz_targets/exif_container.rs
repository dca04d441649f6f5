//! EXIF inside an ISO-BMFF (HEIF/HEIC) or PNG container, read through kamadak-exif under the
//! reader's byte budget, and a bare TIFF block as it follows `Exif\0\0`.
#![no_main]

use std::io::Cursor;

use fieldseal_core::evidence::{
    MediaType,
    exif::{parse_tiff, read_exif_from},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    match selector % 3 {
        0 => drop(read_exif_from(Cursor::new(body), MediaType::Heic)),
        1 => drop(read_exif_from(Cursor::new(body), MediaType::Png)),
        _ => drop(parse_tiff(body.to_vec())),
    }
});

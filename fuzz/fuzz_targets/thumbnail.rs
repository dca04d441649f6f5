//! Previews: an embedded EXIF thumbnail, or a reduced decode of the whole JPEG/PNG. The decoders
//! run under the memory budget checked from the header; a hostile header must be refused, not
//! allocated.
#![no_main]

use std::io::Cursor;

use fieldseal_core::evidence::{MediaType, thumbnail::make_thumbnail_from};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let orientation = Some(selector >> 4);
    let open = || Some((Cursor::new(body), body.len() as u64));
    match selector % 3 {
        0 => drop(make_thumbnail_from(Some(body), open, MediaType::Jpeg, orientation)),
        1 => drop(make_thumbnail_from(None, open, MediaType::Jpeg, orientation)),
        _ => drop(make_thumbnail_from(None, open, MediaType::Png, orientation)),
    }
});

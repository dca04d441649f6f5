//! A JPEG as the camera (or an attacker) wrote it: magic-byte sniffing, the streaming structure
//! check ingest runs while hashing, and the bounded APP1/EXIF reader. None may panic, loop or
//! allocate beyond its budget, whatever the bytes.
#![no_main]

use std::io::Cursor;

use fieldseal_core::evidence::{MediaType, exif::read_exif_from, media::JpegStructure};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = MediaType::sniff(data);
    // Fed in two uneven pieces, as ingest feeds it in read-sized chunks.
    let mut structure = JpegStructure::new();
    let split = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    structure.feed(&data[..split]);
    structure.feed(&data[split..]);
    let _ = structure.finish();
    if let Ok(Some(exif)) = read_exif_from(Cursor::new(data), MediaType::Jpeg) {
        let _ = exif.summary.captured_at();
    }
});

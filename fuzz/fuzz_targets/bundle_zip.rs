//! A bundle arrives from another device, a court or a reviewer's mail: the zip reader is the first
//! code that touches it. Any bytes must end in a typed refusal or an archive whose every member name
//! is safe to extract and whose every member reads back at exactly its declared size — never a
//! panic, a hang, or an allocation the limits did not allow.
#![no_main]

use std::io::Cursor;

use fieldseal_core::bundle::zip::{Limits, ZipReader, check_name};
use libfuzzer_sys::fuzz_target;

/// Tight limits, so a declared size or ratio the reader accepts is still cheap to inflate here.
const LIMITS: Limits = Limits { max_members: 4_096, max_directory: 1 << 20, max_total: 8 << 20, max_ratio: 200 };

fuzz_target!(|data: &[u8]| {
    let Ok(mut archive) = ZipReader::open(Cursor::new(data), LIMITS) else { return };
    let members: Vec<(String, u64)> = archive.members().iter().map(|m| (m.name.clone(), m.size)).collect();
    for (name, size) in members {
        assert!(check_name(&name).is_ok(), "the reader accepted an unsafe member name {name:?}");
        if let Ok(bytes) = archive.read(&name, LIMITS.max_total) {
            assert_eq!(bytes.len() as u64, size, "{name:?} read back at another size than declared");
        }
    }
});

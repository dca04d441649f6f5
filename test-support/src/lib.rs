//! Helpers shared by fieldseal's tests and benches (`core/tests`, `core/benches`, `tests/`), as a
//! crate rather than `#[path]` includes, so each helper compiles once and is linted once.
//!
//! - [`testmedia`]: real JPEGs (the `image` encoder) with real EXIF (kamadak-exif's writer),
//!   hostile and truncated variants, video-like files and WAVs.
//! - [`harness`]: a store with its key vault, a device signer and a capture gate the test controls.

pub mod harness;
pub mod testmedia;

//! 证据包 — the export bundle: a zip of the frozen record, its PDF, its evidence and its trail.
//!
//! - [`format`]: the member layout, the signed member list and the device key.
//! - [`zip`]: the container, with a strict reader.
//! - [`export`]: writing a bundle from the store.
//! - [`extract`]: unpacking into a folder, never outside it.
//! - [`pdf`]: the traits the PDF renderer and reader implement outside core.

mod error;
pub mod export;
pub mod extract;
pub mod format;
pub mod pdf;
pub mod zip;

pub use error::BundleError;
pub use export::{ExportSummary, export};
pub use extract::extract;

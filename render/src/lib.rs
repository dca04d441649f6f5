//! fieldseal-render: the PDF view of an on-site record, and reading its text back.
//!
//! - [`font`]: finding the pinned Noto Sans CJK SC font at run time.
//! - [`pdf`]: [`KrillaRenderer`], drawing the page model exactly, PDF/A-2b.
//! - [`text`]: [`PdfTextReader`], page texts for the verifier.
//!
//! Used by the CLI and intake; never linked into the phone library (`bindings/ffi`).

pub mod font;
pub mod pdf;
pub mod text;

pub use font::{FontError, PinnedFont};
pub use pdf::KrillaRenderer;
pub use text::PdfTextReader;

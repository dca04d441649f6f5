//! 现场检查笔录 — the on-site record: content, pages, hashes, signatures, refusal, freeze, addenda.
//!
//! - [`content`]: what the record says, assembled from the inspection.
//! - [`layout`]: the page model the apps and the PDF draw.
//! - [`document`]: page hashes and the document hash.
//! - [`strokes`]: handwritten signature strokes, their checks and their PNG.
//! - [`statements`]: the signed signature, refusal and freeze statements, and the freeze rules.
//! - [`service`]: the operations on a store.
//! - [`persist`]: the rows.

pub mod content;
pub mod document;
mod error;
pub mod layout;
pub mod persist;
pub mod service;
pub mod statements;
pub mod strokes;

pub use content::{DocumentKind, PartyStatement, RecordContent};
pub use document::RecordDocument;
pub use error::RecordError;
pub use layout::{Line, LineStyle, Page, SignerRole};
pub use service::{
    AddendumRequest, BuildRequest, EntrySummary, RecordView, RefuseRequest, RevisionRequest, SignRequest,
    WitnessInput,
};
pub use strokes::{Pad, StrokePoint, Strokes};

//! 证据 — evidence sealed at capture (DESIGN.md §4).
//!
//! - [`media`]: what a file is, by its magic bytes.
//! - [`structure`]: the streaming structure check ([`jpeg`], [`png`], [`isobmff`]): what is
//!   refused as truncated or corrupt, and what is sealed as irregular.
//! - [`exif`]: lenient, bounded EXIF reading (time, make/model, orientation, embedded thumbnail);
//!   [`gps`]: the camera's GPS in every encoding.
//! - [`location`]: distance to the registered site, location flags, WGS-84 → GCJ-02 for display.
//! - [`time`]: the capture clocks and their disagreements.
//! - [`thumbnail`]: the oriented preview.
//! - [`flags`]: the flags recorded with a capture.
//! - [`manifest`]: the signed evidence manifest.
//! - [`request`]: the capture request and its checks.
//! - [`ingest`]: the sealing pipeline; [`cancel`]: its cancel token.
//! - [`gate`]: what ingest asks about the inspection, and the guard for stored inspections.
//! - [`sweep`]: quarantining blobs no row names; removing only those provably never committed.
//! - [`verify`]: end-to-end verification of a stored item.
//! - [`view`]: list/detail read models and decrypted viewing copies.
//! - [`preview`]: HEIC/HEIF/AVIF previews made by the platform, sealed as derivatives.
//! - [`probe`]: what ingest would record from a file, storing nothing (the CLI's `media probe`).

pub mod cancel;
mod error;
pub mod exif;
pub mod flags;
pub mod gate;
pub mod gps;
pub mod ingest;
pub mod isobmff;
pub mod jpeg;
pub mod location;
pub mod manifest;
pub mod media;
pub mod png;
pub mod preview;
pub mod probe;
pub mod request;
pub mod structure;
pub mod sweep;
pub mod thumbnail;
pub mod time;
pub mod verify;
pub mod view;

pub use crate::checklist::EvidenceKind;
pub use cancel::CancelToken;
pub use error::EvidenceError;
pub use exif::{ExifData, ExifGps, ExifSummary};
pub use flags::{CaptureFlag, FlagMessage};
pub use gate::{CaptureGate, CaptureGuard, StoredInspectionGuard};
pub use ingest::{IngestContext, IngestOutcome, IngestPolicy, IngestProgress, ingest};
pub use location::{GeoPoint, LocationAssessment, LocationFix, LocationPolicy, Site};
pub use manifest::{EvidenceManifest, ParentRef};
pub use media::{MediaType, kind_accepts};
pub use request::IngestRequest;
pub use sweep::{QuarantineReason, QuarantinedBlob, sweep_orphan_blobs};
pub use time::{CaptureClock, TimePolicy};
pub use verify::{VerifiedEvidence, verify_item};
pub use view::{EvidenceDetail, EvidenceList, EvidenceListItem, ViewFile};

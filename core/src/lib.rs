//! fieldseal-core: everything on the inspector's terminal that must be right.
//!
//! Plain Rust with no FFI attributes; `bindings/ffi`, the CLI and intake all build on it.
//! Each module is one concern; see `../shared/DESIGN.md` §2 for the map.

pub mod checklist;
pub mod crypto;
pub mod error;
pub mod evidence;
pub mod explain;
#[cfg(feature = "uniffi")]
mod ffi_types;
pub mod id;
pub mod input_file;
pub mod installation;
pub mod model;
pub mod outbox;
pub mod protocol;
pub mod record;
pub mod startup;
pub mod store;
pub mod trail;

pub use checklist::{AnswerValue, ChoiceOption, EvidenceKind, Method, ResultCode};
pub use error::{Error, Result};
pub use explain::FieldsealError;
pub use installation::{
    Clock, EvidenceIngest, FixedClock, InspectionSession, Inspections, Installation, Location, StoreStatus,
    SystemClock, VerifiedStatement,
};
pub use model::{
    AbortReason, Blocker, ChecklistView, EvidenceNeed, FindingCategory, FindingView, GeoPoint, Handling,
    HeaderField, InspectionState, ItemState, ItemView, Message, NewFinding, ProblemAction, ProblemState,
    Progress, RecordHeader, RegisterInspector, RegisterSummary, SectionView, Task, TaskRow, TaskSource,
    TemplateSummary,
};
pub use store::notes::Note;
pub use trail::TrailEvent;

#[cfg(feature = "uniffi")]
pub use ffi_types::{FilePath, IsoDate, LocalTime, UtcTime, WallTime};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

/// The core's version, recorded in manifests and records so a reviewer knows which code sealed them.
pub const CORE_VERSION: &str = env!("CARGO_PKG_VERSION");

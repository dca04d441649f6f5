//! fieldseal-core: everything on the inspector's terminal that must be right.
//!
//! `bindings/ffi`, the CLI and intake all build on the service API re-exported here
//! ([`Installation`] and the services it hands out) and on the wire formats ([`protocol`]), keys
//! and signers ([`crypto`]), evidence manifests and their verification ([`evidence`]) and the trail
//! ([`trail`]). Each module is one concern and the modules form no loops (leaves: `explain`,
//! `event`, `vocabulary`); see `../shared/DESIGN.md` §2 for the map. Types that cross to Kotlin
//! and Swift derive their UniFFI traits only with the `uniffi` feature.

pub mod bundle;
pub mod checklist;
pub mod crypto;
pub mod error;
mod event;
pub mod evidence;
pub mod explain;
#[cfg(feature = "uniffi")]
mod ffi_types;
mod id;
pub mod input_file;
mod installation;
pub mod model;
pub mod outbox;
mod private_file;
pub mod protocol;
pub mod record;
pub mod startup;
pub mod store;
pub mod sync;
pub mod trail;
pub mod verify;
mod vocabulary;

pub use checklist::{AnswerValue, ChoiceOption, EvidenceKind, Method, ResultCode};
pub use error::{Error, Result};
pub use explain::FieldsealError;
pub use installation::{
    Clock, EnrolmentSummary, EvidenceIngest, FixedClock, InspectionSession, Inspections, Installation,
    IntegrityProblem, IntegrityProblemKind, Location, PassEnd, ReceiptCheck, RecordSession, StoreStatus,
    SyncEngine, SyncEngineError, SyncItem, SyncItemState, SyncOutcome, SyncSettings, SyncStatus, SystemClock,
    TrailVerification, VerifiedStatement, verify_bundle,
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

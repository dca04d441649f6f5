//! The register and inspections: inspectors, enterprises (USCC check), permits, tasks, the
//! inspection state machine, findings and their problems, and the read models for screens.

mod error;
pub mod expand;
pub mod finding;
pub mod geo;
pub mod header;
pub mod inspection;
mod message;
pub mod problem;
mod readiness;
mod recording;
pub mod register;
pub mod state;
pub mod task;
mod transitions;
pub mod uscc;
pub mod view;

pub use error::DomainError;
pub use expand::{ExpandedChecklist, ExpandedItem, ExpandedSection, PermitItemRef, expand};
pub use finding::{Finding, FindingCategory, Handling, HandlingKind, NewFinding};
pub use geo::{GeoPoint, Site};
pub use header::{HeaderField, RecordHeader};
pub use inspection::{
    Abort, AbortReason, AnswerChange, AnswerRecord, CheckIn, CheckOut, CredentialsShown, Inspection,
    RecusalAnswer, Signing, SuspendReason, Suspension,
};
pub use message::Message;
pub use problem::{Problem, ProblemAction, ProblemState};
pub use readiness::{Blocker, Progress};
pub use register::{
    CertificateProblem, Enterprise, Inspector, Permit, PermitItem, PermitItemKind, Register, RegisterProblem,
    RegisterSnapshot,
};
pub use state::InspectionState;
pub use task::{Task, TaskSource};
pub use uscc::{Uscc, UsccError};
pub use view::{
    ChecklistView, EvidenceNeed, FindingView, ItemState, ItemView, RegisterInspector, RegisterSummary,
    SectionView, TaskRow, TaskSummary, TemplateSummary, checklist_view, findings_view, task_list, task_row,
};

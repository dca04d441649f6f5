//! 安装实例 — the core's service API: one [`Installation`] per data directory, opened with the
//! platform's key vault and device signer, handing out the services the screens use.
//!
//! Everything an app, the CLI or intake asks of the core goes through here: the transactions, the
//! clock and the policies (which capture guard, which flag thresholds) are chosen in this module, so
//! `bindings/ffi` only forwards a call and converts its error.
//!
//! - [`clock`]: the injectable device clock ([`SystemClock`], [`FixedClock`] for tests).
//! - [`open`]: [`Installation::open`] (store + recovery), status, device key, notes.
//! - [`inspections`]: the register, templates, task list and [`InspectionSession`].
//! - [`evidence`]: [`EvidenceIngest`] — sealing, listing, viewing and verifying captures.
//! - [`records`]: [`RecordSession`] — the on-site record: build, revise, sign, refuse, freeze,
//!   addenda, export.
//! - [`sync`]: [`SyncEngine`] — enrolment, sync passes (foreground and background), the upload
//!   status, retry and discard.
//! - [`statements`]: signing and verifying statements with the device key.
//! - [`integrity`]: signing trail heads as things change, and [`Installation::verify_trail`], the
//!   installation-wide check that evidence, states, trail and anchors agree.

mod clock;
mod evidence;
mod inspections;
mod integrity;
mod open;
mod records;
mod statements;
mod sync;

pub use clock::{Clock, FixedClock, SystemClock};
pub use evidence::EvidenceIngest;
pub use inspections::{InspectionSession, Inspections, Location};
pub use integrity::{IntegrityProblem, IntegrityProblemKind, TrailVerification};
pub use open::{Installation, StoreStatus};
pub use records::{RecordSession, verify_bundle};
pub use statements::VerifiedStatement;
pub use sync::{
    EnrolmentSummary, PassEnd, ReceiptCheck, SyncEngine, SyncEngineError, SyncItem, SyncItemState,
    SyncOutcome, SyncSettings, SyncStatus,
};

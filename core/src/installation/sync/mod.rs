//! 同步 — the installation's sync service, as the outbox screen and the platform's background
//! scheduler drive it. All decisions are here; the driver ([`crate::outbox::Driver`]) and the client
//! ([`crate::sync`]) do the sending.
//!
//! - [`engine`]: [`SyncEngine`] — enrolment, `sync_now` (cancellable, bounded) and the background
//!   pass a scheduler (WorkManager, BGTaskScheduler) runs, with when to run next.
//! - [`status`]: [`SyncStatus`], the read model: per item and overall, bytes done and total.
//! - [`decisions`]: retry and discard of uploads stopped for a person (放弃上传 keeps the evidence
//!   and is recorded in the trail).
//! - [`receipts`]: every kept receipt checked again ([`ReceiptCheck`]).
//! - [`countersigned`]: the province's countersignatures of trail anchors, checked for
//!   [`crate::Installation::verify_trail`].
//! - [`error`]: [`SyncEngineError`], what a person asked that cannot be done.

pub(super) mod countersigned;
mod decisions;
mod engine;
mod error;
mod receipts;
mod status;

pub use engine::{EnrolmentSummary, PassEnd, SyncEngine, SyncOutcome, SyncSettings};
pub use error::SyncEngineError;
pub use receipts::ReceiptCheck;
pub use status::{SyncItem, SyncItemState, SyncStatus};

/// Uploads a person discarded (they stay `wedged` in the outbox table).
pub(super) fn discarded_count(conn: &rusqlite::Connection) -> crate::Result<u64> {
    Ok(status::discarded_ids(conn)?.len() as u64)
}

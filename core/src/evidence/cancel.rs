//! 取消 — stopping an ingest from another thread. The pipeline checks the token before every chunk
//! and before each commit; a cancelled ingest removes what it wrote and keeps the input file.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use super::EvidenceError;

/// Cancels an ingest from another thread. Checked before every chunk and before each commit.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub(super) fn check(&self) -> std::result::Result<(), EvidenceError> {
        if self.is_cancelled() { Err(EvidenceError::Cancelled) } else { Ok(()) }
    }
}

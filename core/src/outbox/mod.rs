//! 待上传队列 — the transactional outbox and the driver that drains it.
//!
//! - [`queue`]: the rows, written in the same transaction as the domain change that caused them.
//! - [`driver`]: sends due rows to intake, acknowledges them on a verified receipt, backs off
//!   transient failures and wedges the rest with a reason a person can act on.
//! - [`backoff`]: exponential backoff with full jitter.
//! - [`network`]: what the platform says about the network, and what may be sent over it.

pub mod backoff;
pub mod driver;
pub mod network;
mod queue;

pub use backoff::Backoff;
pub use driver::{DrainReport, Driver, WedgedReason};
pub use network::{NetworkPolicy, NetworkState};
pub use queue::*;

//! 同步 — talking to the provincial intake service: the HTTP client and what it learns.
//!
//! - [`tls`]: whom the client trusts ([`Trust`]): the province's CA only, or plain HTTP on loopback.
//! - [`client`]: [`IntakeClient`], the requests intake defines (enrolment, token, tus, statements, pull).
//! - [`clock`]: the device clock measured against intake's (token grants, pull pages, `Date`).
//! - [`enrolment`]: enrolling this installation with a one-time code and what is kept of it.
//! - [`upload`]: a vault blob streamed to intake by tus, resumed from the server's offset.
//! - [`receipt`]: checking a receipt against the server key and the object it must name.
//! - [`pull`]: tasks, templates, the register and revocations pulled by cursor into the task list.
//! - [`release`]: when an acknowledged original may leave the vault (the retention rule).
//! - [`error`]: [`SyncError`], which says whether trying again can help.
//!
//! The outbox driver that decides what to send when is [`crate::outbox::driver`].

pub mod client;
pub mod clock;
pub mod enrolment;
mod error;
pub mod pull;
pub mod receipt;
pub mod release;
pub mod tls;
pub mod upload;

pub use client::{ClientOptions, IntakeClient};
pub use enrolment::Enrolment;
pub use error::SyncError;
pub use tls::Trust;

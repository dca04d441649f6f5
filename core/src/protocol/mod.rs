//! 协议格式 — the wire formats shared with intake.
//!
//! - [`canonical`]: RFC 8785 canonical JSON, the only byte form anything is signed in.
//! - [`envelope`]: the signed envelope `{payload, alg, key_id, signature}` around every statement.
//! - [`base64url`]: the strict unpadded base64url the envelope's signature travels in.
//! - [`statement`]: reading typed statements out of envelopes; statement hashes.
//! - [`enrolment`]: challenge, enrolment request and response, the device certificate.
//! - [`auth`]: the signed token request and the bearer token it earns.
//! - [`receipt`]: intake's signed receipts and its published key.
//! - [`tus`]: the tus 1.0 constants and header codecs of resumable blob upload.
//! - [`pull`]: the change feed a terminal pulls by cursor.
//! - [`trail_head`]: the trail-head statement submitted after a frozen record.

pub mod auth;
pub mod base64url;
pub mod canonical;
pub mod enrolment;
pub mod envelope;
mod error;
pub mod pull;
pub mod receipt;
pub mod statement;
pub mod trail_head;
pub mod tus;

pub use canonical::{canonicalize, parse_strict};
pub use envelope::SignedEnvelope;
pub use error::{NumberIssue, ProtocolError};

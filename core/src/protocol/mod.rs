//! 协议格式 — the wire formats shared with intake.
//!
//! - [`canonical`]: RFC 8785 canonical JSON, the only byte form anything is signed in.
//! - [`envelope`]: the signed envelope `{payload, alg, key_id, signature}` around every statement.
//! - [`base64url`]: the strict unpadded base64url the envelope's signature travels in.

pub mod base64url;
pub mod canonical;
pub mod envelope;
mod error;

pub use canonical::{canonicalize, parse_strict};
pub use envelope::SignedEnvelope;
pub use error::{NumberIssue, ProtocolError};

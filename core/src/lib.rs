//! fieldseal-core: everything on the inspector's terminal that must be right.
//!
//! Plain Rust with no FFI attributes; `bindings/ffi`, the CLI and intake all build on it.
//! Each module is one concern; see `../shared/DESIGN.md` §2 for the map.

pub mod checklist;
pub mod crypto;
pub mod error;
pub mod evidence;
pub mod id;
pub mod model;
pub mod outbox;
pub mod protocol;
pub mod record;
pub mod startup;
pub mod store;
pub mod trail;

pub use error::{Error, Result};

/// The core's version, recorded in manifests and records so a reviewer knows which code sealed them.
pub const CORE_VERSION: &str = env!("CARGO_PKG_VERSION");

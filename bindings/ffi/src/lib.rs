//! fieldseal-ffi: the thin UniFFI layer over fieldseal-core.
//!
//! No business logic lives here. Each exported method calls the core and converts the error in one
//! place ([`error`]); every entry point runs inside [`guard`] so a Rust panic reaches Kotlin or Swift
//! as a typed `FieldsealError.Internal` instead of killing the app.

mod error;
mod evidence;
mod guard;
mod inspections;
mod notes;
mod platform;
mod root;
mod statements;

pub use error::{FieldsealError, PlatformError};
pub use evidence::*;
pub use inspections::*;
pub use notes::Note;
pub use platform::{
    DeviceSigner, KeyVault, software_device_signer, software_key_vault, software_passphrase_vault,
};
pub use root::{Fieldseal, StoreStatus};
pub use statements::VerifiedStatement;

uniffi::setup_scaffolding!();

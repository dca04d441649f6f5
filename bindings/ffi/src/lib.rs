//! fieldseal-ffi: the thin UniFFI layer over fieldseal-core.
//!
//! Only exported objects, foreign traits and delegations live here. Every type that crosses the
//! boundary (records, enums, `FieldsealError`) is defined once in fieldseal-core behind its `uniffi`
//! feature; every operation (transactions, the clock, policies, messages) is the core's
//! [`fieldseal_core::Installation`]. Each exported method calls the core and converts its error with
//! `?`; each runs inside [`guard`] so a Rust panic reaches Kotlin or Swift as a typed
//! `FieldsealError.Internal` instead of killing the app.

mod evidence;
mod guard;
mod inspections;
mod platform;
mod records;
mod root;
mod sync;

pub use evidence::{CancelHandle, EvidenceIngest, IngestListener, capture_flag_message};
pub use fieldseal_core::FieldsealError;
pub use inspections::InspectionSession;
pub use platform::{
    DeviceSigner, KeyVault, PlatformError, TrailCheckpointStore, software_device_signer, software_key_vault,
    software_passphrase_vault,
};
pub use records::RecordSession;
pub use root::Fieldseal;
pub use sync::SyncEngine;

// Chrono and path types are the core's custom types (text on the other side); methods here that take
// or return one use the core's converters.
use fieldseal_core::{FilePath, IsoDate};
uniffi::use_remote_type!(fieldseal_core::IsoDate);
uniffi::use_remote_type!(fieldseal_core::FilePath);

uniffi::setup_scaffolding!();

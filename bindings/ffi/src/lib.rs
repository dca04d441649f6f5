//! fieldseal-ffi (being written).
uniffi::setup_scaffolding!();

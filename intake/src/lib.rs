//! fieldseal-intake: the reference provincial intake service.
//!
//! It will enrol devices, verify every hash, manifest and signature on arrival, store blobs
//! content-addressed, issue signed receipts and serve the pull endpoints (DESIGN.md §7). It builds on
//! `fieldseal_core::protocol` so the device and the server share one definition of every wire format;
//! the service itself arrives with the sync capability.

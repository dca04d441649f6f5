//! fieldseal-intake: the reference provincial intake service (DESIGN.md §7).
//!
//! It enrols devices (binding a device key to an inspector), authenticates every device request,
//! takes blobs over tus 1.0, verifies every hash, manifest and signature on arrival before it
//! acknowledges anything, stores blobs content-addressed, issues signed receipts and serves the
//! pull feed. Wire formats are `fieldseal_core::protocol`, shared with the terminal.
//!
//! - [`service`]: what intake does, independent of HTTP.
//! - [`store`]: the metadata and blob traits and their SQLite, directory, PostgreSQL and S3 backends.
//! - [`http`]: routes, handlers, TLS and graceful shutdown.
//! - [`config`]: opening a service from command-line or environment settings.
//! - [`sim`]: a simulated terminal over real HTTP, for the tests and the benchmark.
//! - [`bench`]: the throughput benchmark behind `fieldseal-intake bench`.

pub mod bench;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod ids;
pub mod keys;
pub mod service;
pub mod sim;
pub mod store;

pub use error::{IntakeError, Result};
pub use service::Intake;

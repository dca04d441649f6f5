//! The HTTP API (documented in `intake/openapi.json`): routes, handlers, and serving with TLS and
//! graceful shutdown.

mod admin;
mod body;
mod device;
mod ops;
mod routes;
pub mod serve;
mod tus;

pub use routes::{AppState, ROUTES, router};

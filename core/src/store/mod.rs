//! The installation's SQLite database and encrypted blob vault (being written).

mod error;
pub use error::StoreError;

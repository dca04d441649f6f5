//! 离线校验 — offline verification of an exported evidence bundle, with public keys only.
//!
//! - [`bundle`]: the checks, in order; [`verify_bundle_file`] for a file, [`verify_members`] for
//!   members from any [`MemberSource`] (intake, tests).
//! - `anchors`: the signed trail heads a bundle carries, against its trail.
//! - [`report`]: what was checked and what failed where, for people and as JSON.
//! - [`source`]: where members are read from.
//!
//! The single rules (a record envelope, page hashes, a chain) are public where they live
//! (`record::statements`, `record::document`, `trail::chain`), so intake can call them on their own.

mod anchors;
pub mod bundle;
pub mod report;
pub mod source;

pub use bundle::{VerifyOptions, verify_bundle_file, verify_members};
pub use report::{BundleVerification, CheckOutcome, VerificationCheck, VerificationReport};
pub use source::MemberSource;

//! What intake does, independent of HTTP: enrolment, authentication, uploads, statements and their
//! receipts, the pull feed, administration and the report. Handlers in `http` only translate.

pub mod admin;
pub mod auth;
pub mod enrol;
pub mod pull;
pub mod report;
pub mod statements;
pub mod uploads;

use std::sync::Arc;

use chrono::Duration;

use crate::{
    clock::Clock,
    keys::ServerKey,
    store::{Blobs, Metadata},
};

pub use statements::{RecordCheck, SignatureOnlyRecordCheck};

/// Lifetimes and limits an operator may tune.
#[derive(Debug, Clone)]
pub struct Policy {
    pub challenge_ttl: Duration,
    pub token_ttl: Duration,
    pub enrolment_code_ttl: Duration,
    pub certificate_validity: Duration,
    /// The largest blob an upload may declare (`Tus-Max-Size`).
    pub max_blob_size: u64,
    /// The largest PATCH body (a tus client chunks larger files).
    pub max_chunk_size: usize,
    /// The largest JSON body (manifests, records, trail heads, admin imports).
    pub max_json_size: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            challenge_ttl: Duration::minutes(5),
            token_ttl: Duration::minutes(30),
            enrolment_code_ttl: Duration::hours(72),
            certificate_validity: Duration::days(730),
            max_blob_size: 8 << 30,
            max_chunk_size: 32 << 20,
            max_json_size: 4 << 20,
        }
    }
}

/// The service: its stores, its key, its clock, its policy. Cheap to clone; holds no state of its
/// own beyond these handles, so any number of instances can share one pair of stores.
#[derive(Clone)]
pub struct Intake {
    pub meta: Arc<dyn Metadata>,
    pub blobs: Arc<dyn Blobs>,
    pub key: Arc<ServerKey>,
    pub clock: Arc<dyn Clock>,
    pub policy: Policy,
    pub records: Arc<dyn RecordCheck>,
}

impl Intake {
    pub fn new(
        meta: Arc<dyn Metadata>,
        blobs: Arc<dyn Blobs>,
        key: ServerKey,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Intake {
            meta,
            blobs,
            key: Arc::new(key),
            clock,
            policy: Policy::default(),
            records: Arc::new(SignatureOnlyRecordCheck),
        }
    }
}

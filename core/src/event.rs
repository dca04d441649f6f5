//! 领域事件 — what the model says happened, before the trail chains it. A leaf: the model returns
//! events without knowing the trail, and the trail chains them without knowing the model.

use serde::{Deserialize, Serialize};

/// Something that happened, to be appended to a stream's chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// `inspection:<id>` for everything on one visit, `device` for installation-wide events.
    pub stream: String,
    /// A stable, dotted name such as `inspection.started` or `evidence.sealed`.
    pub kind: String,
    pub payload: serde_json::Value,
}

impl DomainEvent {
    pub fn new(stream: impl Into<String>, kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self { stream: stream.into(), kind: kind.into(), payload }
    }
}

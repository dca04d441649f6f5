//! Wire formats shared with intake (being written).

use crate::error::{ErrorClass, Explain, Explained};

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("malformed {what}: {reason}")]
    Malformed { what: String, reason: String },
}

impl Explain for ProtocolError {
    fn explain(&self) -> Explained {
        match self {
            ProtocolError::Malformed { what, reason } => Explained::new(
                "protocol.malformed",
                ErrorClass::Integrity { what: what.clone() },
                format!("{what} 格式错误：{reason}。"),
                format!("{what} is malformed: {reason}."),
            ),
        }
    }
}

//! Evidence capture (being written).

use crate::error::{ErrorClass, Explain, Explained};

/// Evidence ingest failed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("unsupported media: {0}")]
    UnsupportedMedia(String),
}

impl Explain for EvidenceError {
    fn explain(&self) -> Explained {
        match self {
            EvidenceError::UnsupportedMedia(kind) => Explained::new(
                "evidence.unsupported_media",
                ErrorClass::InvalidInput { field: "media".into(), reason: kind.clone() },
                format!("不支持的媒体类型：{kind}。请用相机或录音机重新采集。"),
                format!("Unsupported media type: {kind}. Capture it again with the camera or recorder."),
            ),
        }
    }
}

//! 采集请求 — a capture as the platform hands it over, and the checks made before a byte is read.

use std::path::PathBuf;

use super::{CaptureClock, EvidenceError, EvidenceKind, LocationFix};

/// A capture to seal, as the platform hands it over.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IngestRequest {
    /// A file the camera or recorder wrote to app-private storage. Removed after sealing.
    pub source_path: PathBuf,
    pub inspection_id: String,
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub item_id: Option<String>,
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub finding_id: Option<String>,
    pub kind: EvidenceKind,
    /// 执法人员 id of the inspector making the capture.
    pub operator: String,
    pub location: Option<LocationFix>,
    pub clock: CaptureClock,
    /// For a derivative: the evidence id of the original.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub parent: Option<String>,
    /// For a derivative: how it was made (`redacted`, `watermarked`). Required with `parent`.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub derivation: Option<String>,
    pub app_version: String,
}

impl IngestRequest {
    pub(super) fn validate(&self) -> std::result::Result<(), EvidenceError> {
        for (field, value) in [("inspection_id", &self.inspection_id), ("operator", &self.operator)] {
            if value.trim().is_empty() {
                return Err(EvidenceError::invalid(field, "must not be empty"));
            }
        }
        if let Some(fix) = &self.location {
            fix.validate()?;
        }
        self.clock.validate()?;
        match (&self.parent, &self.derivation) {
            (Some(_), None) => {
                Err(EvidenceError::invalid("derivation", "a derivative must say how it was made"))
            }
            (None, Some(_)) => Err(EvidenceError::invalid("parent", "a derivation needs the original's id")),
            (Some(_), Some(d)) if d.trim().is_empty() || d.chars().count() > 64 => {
                Err(EvidenceError::invalid("derivation", "1 to 64 characters"))
            }
            _ => Ok(()),
        }
    }
}

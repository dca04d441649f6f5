//! 平台预览 — previews of HEIC/HEIF/AVIF photos, made by the phone's OS and sealed as derivatives
//! (docs/decisions/0005-heic-previews.md). The core has no HEVC or AV1 decoder; the app asks
//! Android's `ImageDecoder` or iOS's `CGImageSource` for a JPEG of the sealed viewing copy and
//! ingests it with `parent` = the original's id and `derivation` = [`PLATFORM_PREVIEW`]. The
//! derivative's manifest names its parent's id and SHA-256; the original is never replaced, and
//! its viewing thumbnail is the preview's.

use super::{EvidenceError, MediaType};

/// The derivation a platform-made preview declares.
pub const PLATFORM_PREVIEW: &str = "platform_preview";

/// Whether a request's derivation declares a platform preview.
pub fn is_platform_preview(derivation: Option<&str>) -> bool {
    derivation == Some(PLATFORM_PREVIEW)
}

/// A platform preview is only for an original the core cannot preview itself.
pub fn check_parent(parent: MediaType) -> Result<(), EvidenceError> {
    if parent.is_heif() {
        Ok(())
    } else {
        Err(EvidenceError::invalid(
            "derivation",
            format!("a platform preview is for HEIC, HEIF or AVIF originals, not {}", parent.label()),
        ))
    }
}

/// A platform preview is itself a JPEG or PNG the core can check and thumbnail.
pub fn check_preview(preview: MediaType) -> Result<(), EvidenceError> {
    if matches!(preview, MediaType::Jpeg | MediaType::Png) {
        Ok(())
    } else {
        Err(EvidenceError::invalid(
            "derivation",
            format!("a platform preview must be a JPEG or PNG, not {}", preview.label()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_heif_originals_take_a_platform_preview_and_only_as_jpeg_or_png() {
        assert!(check_parent(MediaType::Heic).is_ok() && check_parent(MediaType::Avif).is_ok());
        assert!(check_parent(MediaType::Jpeg).is_err());
        assert!(check_preview(MediaType::Jpeg).is_ok() && check_preview(MediaType::Png).is_ok());
        assert!(check_preview(MediaType::Heic).is_err());
        assert!(is_platform_preview(Some("platform_preview")) && !is_platform_preview(Some("redacted")));
    }
}

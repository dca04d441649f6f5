//! The font of every record PDF: Noto Sans CJK SC (SIL OFL) from Debian's `fonts-noto-cjk`.
//!
//! A full CJK font (not a GB2312 subset, which has no 堃 or 喆) so no name prints as a blank box.
//! The file is found at run time (`FIELDSEAL_FONT`, else Debian's path) and must have the pinned
//! SHA-256, so the same record always renders with the same glyphs; the hash is recorded in the
//! bundle. Install it with `apt-get install fonts-noto-cjk`.

use std::path::{Path, PathBuf};

use ring::digest;

/// Debian's path of the collection holding Noto Sans CJK SC.
pub const DEBIAN_PATH: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
/// SHA-256 of `NotoSansCJK-Regular.ttc` in fonts-noto-cjk 1:20220127+repack1-1.
pub const PINNED_SHA256: &str = "b76b0433203017ca80401b2ee0dd69350349871c4b19d504c34dbdd80541690a";
/// Index of "Noto Sans CJK SC" in that collection (0 JP, 1 KR, 2 SC, 3 TC, 4 HK).
pub const SC_INDEX: u32 = 2;
pub const FAMILY: &str = "Noto Sans CJK SC";

#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error(
        "the record font {path} is missing ({source}); install Debian's fonts-noto-cjk or set FIELDSEAL_FONT / 未找到笔录字体，请安装 fonts-noto-cjk"
    )]
    Missing { path: PathBuf, source: std::io::Error },
    #[error(
        "the record font {path} has SHA-256 {found}, not the pinned {PINNED_SHA256}; install fonts-noto-cjk 1:20220127 / 笔录字体版本与固定版本不符"
    )]
    Unpinned { path: PathBuf, found: String },
}

/// The font bytes, checked against the pin.
#[derive(Clone)]
pub struct PinnedFont {
    pub path: PathBuf,
    pub bytes: std::sync::Arc<Vec<u8>>,
    pub sha256: String,
}

impl std::fmt::Debug for PinnedFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedFont").field("path", &self.path).field("sha256", &self.sha256).finish()
    }
}

impl PinnedFont {
    /// `FIELDSEAL_FONT` if set, else [`DEBIAN_PATH`].
    pub fn locate() -> Result<Self, FontError> {
        let path = std::env::var_os("FIELDSEAL_FONT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEBIAN_PATH));
        Self::load(&path)
    }

    pub fn load(path: &Path) -> Result<Self, FontError> {
        let bytes =
            std::fs::read(path).map_err(|source| FontError::Missing { path: path.to_owned(), source })?;
        let sha256: String =
            digest::digest(&digest::SHA256, &bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect();
        if sha256 != PINNED_SHA256 {
            return Err(FontError::Unpinned { path: path.to_owned(), found: sha256 });
        }
        Ok(Self { path: path.to_owned(), bytes: std::sync::Arc::new(bytes), sha256 })
    }
}

use crate::explain::{ErrorClass, Explain, Explained};

/// Evidence ingest, verification or viewing failed.
///
/// None of the messages contain evidence content, file names or personal data: a path can name a
/// person (`张三_厂区.jpg`), so paths stay in `Debug` output for logs and never reach a message.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The bytes are none of the media types we accept (checked by magic bytes, not the name).
    #[error("unsupported media: {0}")]
    UnsupportedMedia(String),
    /// The media type does not fit the declared kind (a WAV handed in as a photo).
    #[error("{media} cannot be stored as {kind}")]
    KindMismatch { kind: &'static str, media: &'static str },
    /// The input file holds no bytes at all.
    #[error("the input file is empty")]
    EmptyFile,
    /// The media ends before its structure does (a JPEG without its end-of-image marker, an
    /// ISO-BMFF box or item that runs past the end of the file, a video without its `moov`).
    #[error("{media} is truncated: {reason}")]
    Truncated { media: &'static str, reason: String },
    /// The media's structure cannot be followed at all (a segment length below its own header, a
    /// box smaller than its header): the bytes are not the claimed media. Quirks that decoders
    /// tolerate are never this; they are sealed with a `media_irregular` flag.
    #[error("{media} is corrupt: {reason}")]
    Corrupt { media: &'static str, reason: String },
    /// The input is not a regular file (a FIFO, a socket, a device, a directory): refused at the
    /// open, which never blocks, before a byte is read (`core::input_file`). `found` says which.
    #[error("input {path} is {found}, not a regular file")]
    SourceNotAFile { path: String, found: String },
    /// The input is larger than any capture this terminal seals ([`super::ingest::MAX_SOURCE_BYTES`]).
    #[error("input {path} holds {size} bytes or more, over the limit of {max}")]
    SourceTooLarge { path: String, size: u64, max: u64 },
    /// The input could not be opened or read (it vanished, or permissions changed).
    #[error("cannot read input {path}: {source}")]
    SourceUnreadable { path: String, source: std::io::Error },
    /// The input changed while it was being sealed (shrunk, grew or was replaced).
    #[error("input {path} changed while it was read: expected {expected} bytes, read {read}")]
    SourceChanged { path: String, expected: u64, read: u64 },
    /// Writing the vault or a view copy failed; `ENOSPC` is reported as a full disk.
    #[error("storage failed on {path}: {source}")]
    Storage { path: String, source: std::io::Error },
    /// The inspection is not on site or recording, so nothing may be captured for it.
    #[error("inspection is {state}, not capturing")]
    NotCapturing { state: String },
    /// A field of the capture request is out of range or inconsistent.
    #[error("{field}: {reason}")]
    InvalidRequest { field: String, reason: String },
    /// The caller cancelled; the partial blob was removed and the input kept.
    #[error("ingest cancelled")]
    Cancelled,
    /// A stored item failed verification: blob hash, manifest signature or their binding.
    #[error("evidence {what} failed verification")]
    Verification { what: String },
}

impl EvidenceError {
    pub fn storage(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        EvidenceError::Storage { path: path.as_ref().display().to_string(), source }
    }

    pub fn unreadable(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        EvidenceError::SourceUnreadable { path: path.as_ref().display().to_string(), source }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        EvidenceError::InvalidRequest { field: field.into(), reason: reason.into() }
    }

    /// An error opening a capture through [`crate::input_file::open_regular`]: a FIFO, socket,
    /// device or directory keeps its own meaning; anything else is unreadable.
    pub fn opening(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        let path = path.as_ref().display().to_string();
        if source.kind() == std::io::ErrorKind::InvalidInput {
            let found = source.to_string();
            let found = found.strip_suffix(" is not a regular file").unwrap_or(&found).to_owned();
            return EvidenceError::SourceNotAFile { path, found };
        }
        EvidenceError::SourceUnreadable { path, source }
    }

    pub fn verification(what: impl Into<String>) -> Self {
        EvidenceError::Verification { what: what.into() }
    }

    fn is_disk_full(&self) -> bool {
        matches!(self, EvidenceError::Storage { source, .. }
            if source.kind() == std::io::ErrorKind::StorageFull
                || source.raw_os_error() == Some(ENOSPC))
    }
}

/// Linux/Android and Darwin both use 28 for "no space left on device".
const ENOSPC: i32 = 28;

impl Explain for EvidenceError {
    fn explain(&self) -> Explained {
        if self.is_disk_full() {
            return Explained::new(
                "evidence.disk_full",
                ErrorClass::Storage,
                "存储空间已满，本次证据未保存，原始文件仍保留。请清理空间后重新导入。",
                "The device storage is full; this evidence was not saved and the original file is kept. Free some space and ingest it again.",
            );
        }
        match self {
            EvidenceError::UnsupportedMedia(kind) => Explained::new(
                "evidence.unsupported_media",
                ErrorClass::InvalidInput { field: "media".into(), reason: kind.clone() },
                format!("不支持的媒体类型：{kind}。请用相机或录音机重新采集。"),
                format!("Unsupported media type: {kind}. Capture it again with the camera or recorder."),
            ),
            EvidenceError::KindMismatch { kind, media } => Explained::invalid(
                "evidence.kind_mismatch",
                "kind",
                format!("{media} is not a {kind}"),
                format!("文件类型 {media} 与所选证据类别（{kind}）不符，未保存。请选择正确的类别后重试。"),
                format!(
                    "A {media} file does not match the chosen evidence kind ({kind}); nothing was saved. Choose the right kind and retry."
                ),
            ),
            EvidenceError::EmptyFile => Explained::invalid(
                "evidence.empty_file",
                "source",
                "zero bytes",
                "采集文件为空（0 字节），未保存。请重新拍摄或录制。",
                "The captured file is empty (0 bytes); nothing was saved. Capture it again.",
            ),
            EvidenceError::Truncated { media, reason } => Explained::invalid(
                "evidence.truncated",
                "source",
                reason.clone(),
                format!(
                    "{media} 文件不完整（{reason}），可能未写完。未保存，原文件保留。请等待相机写完或重新拍摄。"
                ),
                format!(
                    "The {media} file is incomplete ({reason}); the camera may not have finished writing it. Nothing was saved and the file is kept. Wait for the camera or capture again."
                ),
            ),
            EvidenceError::Corrupt { media, reason } => Explained::invalid(
                "evidence.corrupt",
                "source",
                reason.clone(),
                format!("{media} 文件已损坏（{reason}），未保存，原文件保留。请重新拍摄。"),
                format!(
                    "The {media} file is corrupt ({reason}). Nothing was saved and the file is kept. Capture it again."
                ),
            ),
            EvidenceError::SourceNotAFile { found, .. } => Explained::invalid(
                "evidence.source_not_a_file",
                "source",
                format!("{found}, not a regular file"),
                "所选采集文件不是普通文件（可能是管道或设备），未读取、未保存。请选择相机或录音机保存的文件。",
                "The chosen capture is not a regular file (it may be a pipe or a device); nothing was read or saved. Choose a file the camera or recorder saved.",
            ),
            EvidenceError::SourceTooLarge { max, .. } => Explained::invalid(
                "evidence.source_too_large",
                "source",
                format!("over {max} bytes"),
                format!(
                    "采集文件超过单件证据 {} GiB 的上限，未保存，原文件保留。请分段录制后分别导入。",
                    max >> 30
                ),
                format!(
                    "The capture is over the {} GiB limit for one evidence item; nothing was saved and the file is kept. Record in shorter parts and ingest each.",
                    max >> 30
                ),
            ),
            EvidenceError::SourceUnreadable { .. } => Explained::invalid(
                "evidence.source_unreadable",
                "source",
                "cannot be read",
                "无法读取采集文件（可能已被删除或移动），未保存。请重新采集。",
                "The captured file could not be read (it may have been deleted or moved); nothing was saved. Capture it again.",
            ),
            EvidenceError::SourceChanged { .. } => Explained::invalid(
                "evidence.source_changed",
                "source",
                "changed while reading",
                "读取期间采集文件被改动或删除，未保存。请确认相机已写完后重试。",
                "The captured file changed or disappeared while it was being sealed; nothing was saved. Make sure the camera has finished writing, then retry.",
            ),
            EvidenceError::Storage { .. } => Explained::new(
                "evidence.storage",
                ErrorClass::Storage,
                "写入证据库失败，本次证据未保存，原始文件仍保留。请检查存储后重试。",
                "Writing the evidence vault failed; this evidence was not saved and the original file is kept. Check the storage and retry.",
            ),
            EvidenceError::NotCapturing { state } => Explained::new(
                "evidence.not_capturing",
                ErrorClass::NotAllowed { rule: "inspection must be on site or recording".into() },
                format!("当前检查处于“{state}”状态，不能采集证据。请先到达现场签到（开始检查）后再采集。"),
                format!(
                    "The inspection is {state}, so no evidence can be captured for it. Check in on site first, then capture."
                ),
            ),
            EvidenceError::InvalidRequest { field, reason } => Explained::invalid(
                "evidence.invalid_request",
                field.clone(),
                reason.clone(),
                format!("采集信息中的 {field} 不正确：{reason}。未保存，请更正后重试。"),
                format!(
                    "The capture's {field} is invalid: {reason}. Nothing was saved; correct it and retry."
                ),
            ),
            EvidenceError::Cancelled => Explained::new(
                "evidence.cancelled",
                ErrorClass::Cancelled,
                "已取消导入，未保存任何内容，原始文件仍保留。",
                "Ingest was cancelled; nothing was saved and the original file is kept.",
            ),
            EvidenceError::Verification { what } => Explained::new(
                "evidence.verification",
                ErrorClass::Integrity { what: what.clone() },
                format!("证据的{what}校验失败，可能已被篡改或损坏。请勿使用，并报告管理员。"),
                format!(
                    "The evidence's {what} failed verification: it may have been altered or damaged. Do not use it; report it to your administrator."
                ),
            ),
        }
    }
}

use crate::explain::{ErrorClass, Explain, Explained};

/// A bundle that cannot be written, opened or extracted. Names the member; never its content.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The file is not a zip this format accepts (damaged, zip64, multi-disk, a declared bomb).
    #[error("bundle structure: {reason}")]
    Structure { reason: String },
    /// One member is unsafe or damaged.
    #[error("bundle member {name}: {reason}")]
    Member { name: String, reason: String },
    /// The output folder is unusable, or extraction would overwrite something.
    #[error("output {path}: {reason}")]
    Output { path: String, reason: String },
    /// The record cannot be exported in its current state.
    #[error("[{rule}] {detail}")]
    NotAllowed { rule: &'static str, detail: String },
}

impl Explain for BundleError {
    fn explain(&self) -> Explained {
        match self {
            BundleError::Structure { reason } => Explained::new(
                "bundle.structure",
                ErrorClass::InvalidInput { field: "bundle".into(), reason: reason.clone() },
                "该文件不是可接受的证据包（结构不符合格式规范），未解压任何内容。请确认文件完整后重试。",
                format!(
                    "This file is not an acceptable evidence bundle ({reason}); nothing was extracted. Check that the file is complete."
                ),
            ),
            BundleError::Member { name, reason } => Explained::new(
                "bundle.member",
                ErrorClass::InvalidInput { field: name.clone(), reason: reason.clone() },
                format!("证据包中的成员 {name} 不可接受，未解压任何内容。"),
                format!("Bundle member {name} is not acceptable ({reason}); nothing was extracted."),
            ),
            BundleError::Output { path, reason } => Explained::new(
                "bundle.output",
                ErrorClass::Storage,
                "无法写入输出文件夹（已存在同名文件或无权限），未覆盖任何文件。请选择一个空文件夹。",
                format!(
                    "Cannot write to the output folder {path} ({reason}); nothing was overwritten. Choose an empty folder."
                ),
            ),
            BundleError::NotAllowed { rule, detail } => Explained::new(
                "bundle.not_allowed",
                ErrorClass::NotAllowed { rule: (*rule).into() },
                "笔录尚未定稿，不能导出证据包。请先完成签字并定稿。",
                format!(
                    "The bundle cannot be exported yet ({detail}). Finish signing and freeze the record first."
                ),
            ),
        }
    }
}

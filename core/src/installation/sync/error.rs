//! What a person asked of the sync engine that it cannot do, told so they can act.

use crate::explain::{ErrorClass, Explain, Explained};

#[derive(Debug, thiserror::Error)]
pub enum SyncEngineError {
    /// Retry and discard are for uploads that stopped for a person's decision.
    #[error("upload {item_id} is {state}, not stopped")]
    NotWedged { item_id: i64, state: String },
    /// A discarded upload is never sent again.
    #[error("upload {item_id} was discarded")]
    Discarded { item_id: i64 },
    /// Another upload waits for this one (a record for its evidence).
    #[error("upload {item_id} is needed by {needed_by}")]
    Needed { item_id: i64, needed_by: String },
    /// A discard must say why.
    #[error("a discard needs a reason and the person deciding")]
    ReasonMissing { field: &'static str },
    /// The installation is enrolled with another intake than the one configured.
    #[error("enrolled with {enrolled}, configured for {configured}")]
    EnrolledElsewhere { enrolled: String, configured: String },
    #[error("no upload {item_id}")]
    NoSuchItem { item_id: i64 },
}

impl Explain for SyncEngineError {
    fn explain(&self) -> Explained {
        let not_allowed = |rule: &str| ErrorClass::NotAllowed { rule: rule.to_owned() };
        match self {
            SyncEngineError::NotWedged { .. } => Explained::new(
                "sync.item_not_wedged",
                not_allowed("sync.item_not_wedged"),
                "该项目没有停止上传，会自动继续，无需处理。",
                "This upload has not stopped; it continues on its own and needs nothing from you.",
            ),
            SyncEngineError::Discarded { .. } => Explained::new(
                "sync.item_discarded",
                not_allowed("sync.item_discarded"),
                "该项目已被放弃上传，不会再发送。证据仍保存在本机。",
                "This upload was discarded and will not be sent again. The evidence is still on this device.",
            ),
            SyncEngineError::Needed { .. } => Explained::new(
                "sync.item_needed",
                not_allowed("sync.item_needed"),
                "笔录或其他上传项目依赖此项目，不能放弃。请联系系统管理员处理后重试。",
                "A record or another upload depends on this item, so it cannot be discarded. Ask your administrator to resolve it, then retry.",
            ),
            SyncEngineError::ReasonMissing { field } => Explained::invalid(
                "sync.discard_reason_required",
                *field,
                "sync.discard_reason_required",
                "放弃上传须填写原因和决定人。",
                "Discarding an upload needs a reason and the name of the person deciding.",
            ),
            SyncEngineError::EnrolledElsewhere { .. } => Explained::new(
                "sync.enrolled_elsewhere",
                not_allowed("sync.enrolled_elsewhere"),
                "本设备注册在另一个省级系统地址上。请向管理员索取新的注册码重新注册。",
                "This device is enrolled with another provincial system address. Ask your administrator for a new enrolment code and enrol again.",
            ),
            SyncEngineError::NoSuchItem { .. } => Explained::new(
                "sync.no_such_item",
                ErrorClass::NotFound { what: "upload".into() },
                "找不到该上传项目，请刷新上传列表。",
                "That upload does not exist; refresh the upload list.",
            ),
        }
    }
}

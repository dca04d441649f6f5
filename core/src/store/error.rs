use std::path::PathBuf;

use crate::explain::{ErrorClass, Explain, Explained};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use directory {path}: {source}")]
    Directory { path: PathBuf, source: std::io::Error },
    #[error("cannot open database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("database schema version {found} is newer than this app understands ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: rusqlite::Error },
    #[error("database {operation} failed: {source}")]
    Sql { operation: &'static str, source: rusqlite::Error },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("vault I/O on {path}: {source}")]
    VaultIo { path: PathBuf, source: std::io::Error },
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },
    /// The database holds data (or the vault holds blobs) but no data-key row: a new key would
    /// make everything stored unreadable and let a partial restore pass as a fresh installation.
    #[error("the store holds data ({found}) but its keyring row is missing")]
    KeyringMissing { found: String },
    /// The stored inspection was written before events its trail holds: an older copy of the row
    /// (a restored backup, or a rollback) was put in place. Loading it would show fewer answers,
    /// findings or evidence than the trail records.
    #[error(
        "stored inspection {inspection_id} (revision {revision}) is older than its trail: written at event {stored_seq}, the trail is at event {trail_seq}"
    )]
    InspectionOlderThanTrail { inspection_id: String, revision: u64, stored_seq: i64, trail_seq: i64 },
    /// The stored inspection names a trail head its stream does not hold: the trail is shorter than
    /// when the inspection was written, or the two come from different copies.
    #[error(
        "stored inspection {inspection_id} does not match its trail: written at event {stored_seq}, the trail ends at event {trail_seq}"
    )]
    InspectionTrailMismatch { inspection_id: String, stored_seq: i64, trail_seq: i64 },
    /// The stored record document (现场检查笔录 or addendum) was written before events its
    /// inspection's trail holds: an older copy of the row was put in place. Showing it for
    /// signature would have people sign an earlier version than the trail records.
    #[error(
        "stored record {record_id} (revision {revision}) is older than its trail: written at event {stored_seq}, the trail is at event {trail_seq}"
    )]
    RecordOlderThanTrail { record_id: String, revision: u32, stored_seq: i64, trail_seq: i64 },
    /// The stored record document names a trail head its inspection's stream does not hold (or,
    /// frozen, not the head its freeze statement signed): the trail is shorter than the record, or
    /// the two come from different copies.
    #[error(
        "stored record {record_id} does not match its trail: written at event {stored_seq}, the trail ends at or was signed at event {trail_seq}"
    )]
    RecordTrailMismatch { record_id: String, stored_seq: i64, trail_seq: i64 },
}

impl StoreError {
    /// Wraps a SQLite error with the operation that failed, for `map_err`.
    pub fn sql(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sql { operation, source }
    }

    pub fn vault_io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::VaultIo { path, source }
    }

    fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Sql { source, .. }
            | StoreError::Migration { source, .. }
            | StoreError::Open { source, .. } => {
                matches!(source.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull))
            }
            StoreError::VaultIo { source, .. } | StoreError::Directory { source, .. } => {
                source.kind() == std::io::ErrorKind::StorageFull
            }
            _ => false,
        }
    }
}

impl Explain for StoreError {
    fn explain(&self) -> Explained {
        if self.is_disk_full() {
            return Explained::new(
                "store.disk_full",
                ErrorClass::Storage,
                "存储空间已满，本次操作未保存，原有数据完好。请清理空间后重试。",
                "The device storage is full; this operation was not saved and existing data is intact. Free some space and retry.",
            );
        }
        match self {
            StoreError::Directory { path, .. } => Explained::new(
                "store.directory",
                ErrorClass::Storage,
                format!("无法使用数据目录 {}。请检查该目录存在且可写。", path.display()),
                format!(
                    "Cannot use the data directory {}. Check that it exists and is writable.",
                    path.display()
                ),
            ),
            StoreError::Open { .. } => Explained::new(
                "store.open",
                ErrorClass::Storage,
                "无法打开本机数据库，数据库未被改动。请重启应用；如仍失败，请联系管理员，切勿清除应用数据。",
                "The local database could not be opened and was not changed. Restart the app; if it still fails, contact your administrator and do not clear the app's data.",
            ),
            StoreError::SchemaTooNew { found, supported } => Explained::new(
                "store.schema_too_new",
                ErrorClass::Storage,
                format!(
                    "数据库版本 {found} 高于本应用支持的版本 {supported}，数据未被改动。请将应用升级到最新版本。"
                ),
                format!(
                    "The database is version {found}, newer than this app supports ({supported}); nothing was changed. Update the app."
                ),
            ),
            StoreError::Migration { version, .. } => Explained::new(
                "store.migration",
                ErrorClass::Storage,
                format!("数据库升级到版本 {version} 失败，已回滚，数据完好。请重启应用后重试。"),
                format!(
                    "Upgrading the database to version {version} failed and was rolled back; data is intact. Restart the app and retry."
                ),
            ),
            StoreError::Sql { operation, .. } => Explained::new(
                "store.sql",
                ErrorClass::Storage,
                format!("本机数据库操作（{operation}）失败，未保存任何半成品。请重试。"),
                format!(
                    "The local database operation ({operation}) failed; nothing half-written was saved. Retry."
                ),
            ),
            StoreError::NotFound { what } => Explained::new(
                "store.not_found",
                ErrorClass::NotFound { what: what.clone() },
                format!("未找到 {what}。请刷新后重试。"),
                format!("{what} was not found. Refresh and try again."),
            ),
            StoreError::VaultIo { path, .. } => Explained::new(
                "store.vault_io",
                ErrorClass::Storage,
                format!("读写证据库文件 {} 失败。请检查存储空间后重试。", path.display()),
                format!(
                    "Reading or writing the vault file {} failed. Check free space and retry.",
                    path.display()
                ),
            ),
            StoreError::KeyringMissing { .. } => Explained::new(
                "store.keyring_missing",
                ErrorClass::Integrity { what: "keyring".into() },
                "本机数据库已有数据，但缺少其密钥记录，因此未打开，也未改动任何数据（若生成新密钥，已有证据将无法读取）。请勿清除应用数据，联系管理员从备份恢复。",
                "The local database holds data but its key record is missing, so it was not opened and nothing was changed (a new key would make the stored evidence unreadable). Do not clear the app's data; contact your administrator to restore it from a backup.",
            ),
            StoreError::InspectionOlderThanTrail { inspection_id, .. } => Explained::new(
                "store.inspection_older_than_trail",
                ErrorClass::Integrity { what: format!("inspection {inspection_id}") },
                "本机存储的这次检查比它的全过程记录旧：可能恢复了旧备份，或数据被回退到了较早的版本。为免显示的答案、问题或证据少于已记录的内容，本次检查未被打开，也未改动任何数据。请勿继续编辑或清除应用数据，联系管理员用全过程记录和最新备份核对后恢复。",
                "The stored inspection is older than its trail: an older backup may have been restored, or the data was rolled back to an earlier version. So that it does not show fewer answers, findings or evidence than were recorded, the inspection was not opened and nothing was changed. Do not keep editing or clear the app's data; contact your administrator to check it against the trail and the latest backup and restore it.",
            ),
            StoreError::InspectionTrailMismatch { inspection_id, .. } => Explained::new(
                "store.inspection_trail_mismatch",
                ErrorClass::Integrity { what: format!("inspection {inspection_id}") },
                "本机存储的这次检查与它的全过程记录对不上：全过程记录比检查短，或二者来自不同的数据副本（例如只恢复了部分备份）。本次检查未被打开，也未改动任何数据。请勿清除应用数据，联系管理员核对备份。",
                "The stored inspection does not match its trail: the trail is shorter than the inspection, or the two come from different copies of the data (for example a partly restored backup). The inspection was not opened and nothing was changed. Do not clear the app's data; contact your administrator to check the backups.",
            ),
            StoreError::RecordOlderThanTrail { record_id, .. } => Explained::new(
                "store.record_older_than_trail",
                ErrorClass::Integrity { what: format!("record {record_id}") },
                "本机存储的这份现场检查笔录比它的全过程记录旧：可能恢复了旧备份，或数据被回退到了较早的版本。为免当事人签署比已记录内容更早的版本，该笔录未被打开，也未改动任何数据。请勿签字、继续修改或清除应用数据，联系管理员用全过程记录和最新备份核对后恢复。",
                "The stored on-site record is older than its trail: an older backup may have been restored, or the data was rolled back to an earlier version. So that nobody signs an earlier version than was recorded, the record was not opened and nothing was changed. Do not sign, keep editing or clear the app's data; contact your administrator to check it against the trail and the latest backup and restore it.",
            ),
            StoreError::RecordTrailMismatch { record_id, .. } => Explained::new(
                "store.record_trail_mismatch",
                ErrorClass::Integrity { what: format!("record {record_id}") },
                "本机存储的这份现场检查笔录与它的全过程记录对不上：全过程记录比笔录短，或二者来自不同的数据副本（例如只恢复了部分备份）。该笔录未被打开，也未改动任何数据。请勿清除应用数据，联系管理员核对备份。",
                "The stored on-site record does not match its trail: the trail is shorter than the record, or the two come from different copies of the data (for example a partly restored backup). The record was not opened and nothing was changed. Do not clear the app's data; contact your administrator to check the backups.",
            ),
            // `reason` is a parser's text about decrypted data: the log gets it, the message does not.
            StoreError::Corrupt { what, .. } => Explained::new(
                "store.corrupt",
                ErrorClass::Integrity { what: what.clone() },
                format!("本机存储的 {what} 已损坏。请勿删除，报告管理员。"),
                format!("The stored {what} is corrupt. Do not delete it; report it to your administrator."),
            ),
        }
    }
}

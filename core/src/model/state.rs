//! 检查状态 — the states of an inspection (DOMAIN.md "Inspection states").

use serde::{Deserialize, Serialize};

/// Where an inspection is. Synced, reviewed and archived follow `ClosedOnSite` and belong to sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum InspectionState {
    Draft,
    Approved,
    Scheduled,
    ReadyOffline,
    OnSite,
    Recording,
    PendingSignature,
    Signed,
    ClosedOnSite,
    Aborted,
    Suspended,
}

impl InspectionState {
    pub const ALL: [InspectionState; 11] = [
        InspectionState::Draft,
        InspectionState::Approved,
        InspectionState::Scheduled,
        InspectionState::ReadyOffline,
        InspectionState::OnSite,
        InspectionState::Recording,
        InspectionState::PendingSignature,
        InspectionState::Signed,
        InspectionState::ClosedOnSite,
        InspectionState::Aborted,
        InspectionState::Suspended,
    ];

    pub fn code(self) -> &'static str {
        match self {
            InspectionState::Draft => "draft",
            InspectionState::Approved => "approved",
            InspectionState::Scheduled => "scheduled",
            InspectionState::ReadyOffline => "ready_offline",
            InspectionState::OnSite => "on_site",
            InspectionState::Recording => "recording",
            InspectionState::PendingSignature => "pending_signature",
            InspectionState::Signed => "signed",
            InspectionState::ClosedOnSite => "closed_on_site",
            InspectionState::Aborted => "aborted",
            InspectionState::Suspended => "suspended",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            InspectionState::Draft => "草稿",
            InspectionState::Approved => "已审批",
            InspectionState::Scheduled => "已排期",
            InspectionState::ReadyOffline => "离线就绪",
            InspectionState::OnSite => "已到达现场",
            InspectionState::Recording => "检查记录中",
            InspectionState::PendingSignature => "待签字",
            InspectionState::Signed => "已签字",
            InspectionState::ClosedOnSite => "现场检查结束",
            InspectionState::Aborted => "已中止",
            InspectionState::Suspended => "已暂停",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            InspectionState::Draft => "Draft",
            InspectionState::Approved => "Approved",
            InspectionState::Scheduled => "Scheduled",
            InspectionState::ReadyOffline => "Ready offline",
            InspectionState::OnSite => "On site",
            InspectionState::Recording => "Recording",
            InspectionState::PendingSignature => "Pending signature",
            InspectionState::Signed => "Signed",
            InspectionState::ClosedOnSite => "Closed on site",
            InspectionState::Aborted => "Aborted",
            InspectionState::Suspended => "Suspended",
        }
    }

    /// From `Signed` on, the content of the record (answers, header, findings) is frozen.
    pub fn is_frozen(self) -> bool {
        matches!(self, InspectionState::Signed | InspectionState::ClosedOnSite)
    }
}

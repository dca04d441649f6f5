//! 代码表 — the controlled vocabularies that both checklist templates and the model name: the kinds
//! of permit item a template expands over, the categories of a finding and the kinds of handling a
//! template suggests. A leaf, so `checklist` and `model` share them without importing each other.

use serde::{Deserialize, Serialize};

/// 许可事项类别 — the kinds of item a discharge permit lists; checklist items expand over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermitItemKind {
    /// 排放口.
    Outlet,
    /// 污染物排放限值.
    PollutantLimit,
    /// 污染防治设施.
    TreatmentFacility,
    /// 自行监测.
    SelfMonitoring,
    /// 环境管理台账.
    Ledger,
    /// 执行报告.
    ExecutionReport,
}

impl PermitItemKind {
    pub const ALL: [PermitItemKind; 6] = [
        PermitItemKind::Outlet,
        PermitItemKind::PollutantLimit,
        PermitItemKind::TreatmentFacility,
        PermitItemKind::SelfMonitoring,
        PermitItemKind::Ledger,
        PermitItemKind::ExecutionReport,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PermitItemKind::Outlet => "outlet",
            PermitItemKind::PollutantLimit => "pollutant_limit",
            PermitItemKind::TreatmentFacility => "treatment_facility",
            PermitItemKind::SelfMonitoring => "self_monitoring",
            PermitItemKind::Ledger => "ledger",
            PermitItemKind::ExecutionReport => "execution_report",
        }
    }
}

/// The environmental area a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum FindingCategory {
    /// 水.
    Water,
    /// 大气.
    Air,
    /// 一般固体废物.
    SolidWaste,
    /// 危险废物.
    HazardousWaste,
    /// 噪声.
    Noise,
    /// 环境影响评价.
    Eia,
    /// 排污许可.
    Permit,
    /// 自行监测 / 自动监控.
    Monitoring,
    Other,
}

impl FindingCategory {
    pub fn label_zh(self) -> &'static str {
        match self {
            FindingCategory::Water => "水污染",
            FindingCategory::Air => "大气污染",
            FindingCategory::SolidWaste => "固体废物",
            FindingCategory::HazardousWaste => "危险废物",
            FindingCategory::Noise => "噪声",
            FindingCategory::Eia => "环境影响评价",
            FindingCategory::Permit => "排污许可",
            FindingCategory::Monitoring => "监测监控",
            FindingCategory::Other => "其他",
        }
    }
}

/// The kinds of handling, as a template names its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandlingKind {
    /// 立行立改.
    FixOnSite,
    /// 限期整改.
    RectifyByDeadline,
    /// 立案查处.
    OpenCase,
    /// 不予处罚.
    NoPenalty,
    /// 移送.
    Transfer,
}

//! 检查任务 — what the terminal is asked to inspect, and where the task came from.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// 任务来源.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum TaskSource {
    /// 双随机、一公开.
    DoubleRandom,
    /// 12369 投诉举报.
    Complaint,
    /// 专项检查.
    Campaign,
    /// 自动监控预警核查.
    MonitoringAlert,
    /// 整改复查.
    Recheck,
    /// 上级交办 / 其他.
    Other,
}

impl TaskSource {
    pub fn label_zh(self) -> &'static str {
        match self {
            TaskSource::DoubleRandom => "双随机抽查",
            TaskSource::Complaint => "信访投诉（12369）",
            TaskSource::Campaign => "专项检查",
            TaskSource::MonitoringAlert => "自动监控预警核查",
            TaskSource::Recheck => "整改复查",
            TaskSource::Other => "其他",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Task {
    pub id: String,
    pub title: String,
    pub source: TaskSource,
    pub enterprise_id: String,
    /// The template to use; its version is fixed when the checklist is prepared for offline use.
    pub template_id: String,
    pub planned_date: NaiveDate,
}

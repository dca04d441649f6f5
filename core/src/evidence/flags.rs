//! 采集标记 — capture flags: disagreements and weaknesses found at capture, recorded in the signed
//! manifest exactly as found. A flag never changes the data it is about; a reviewer reads it beside
//! the raw values.

use serde::{Deserialize, Serialize};

use crate::model::Message;

/// One observation about a capture. Serialised as `{"flag": "...", ...details}` so platforms can
/// switch on a stable string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum CaptureFlag {
    /// The platform gave no location fix.
    NoLocation,
    /// The fix came from a mock location provider.
    MockedLocation,
    /// Horizontal accuracy is worse than the policy allows.
    PoorAccuracy { accuracy_m: f64, threshold_m: f64 },
    /// The fix was taken this long before (positive) or after (negative) the capture.
    StaleFix { age_secs: i64 },
    /// The fix lies outside the enterprise's registered site, this far from its boundary.
    OutsideSite { distance_m: f64 },
    /// The enterprise has no registered site position, so presence cannot be checked.
    NoRegisteredSite,
    /// A photo without EXIF (or without DateTimeOriginal): the camera's own record is missing.
    ExifMissing,
    /// EXIF fields present but unreadable (named), kept as a flag rather than guessed.
    ExifUnreadable { fields: Vec<String> },
    /// The EXIF block departs from the standard in ways genuine cameras and tools do (short codes
    /// such as `unexpected_next_ifd`); every field that parsed was kept. A quirk, not an accusation.
    ExifIrregular { details: Vec<String> },
    /// The EXIF GPS position cannot be a real fix (`null_island`: exactly 0,0); it is kept as
    /// written and not compared with the platform fix.
    ExifGpsImplausible { reason: String },
    /// The file's structure departs from its format in ways decoders tolerate (`jpeg_stray_bytes`,
    /// `png_crc_mismatch`, ...); the bytes are sealed exactly as they are.
    MediaIrregular { details: Vec<String> },
    /// No preview was decoded: decoding would need more memory than the budget allows, judged
    /// from the header before any decoding started.
    PreviewOverBudget { needed_bytes: u64, budget_bytes: u64 },
    /// DateTimeOriginal differs from the platform's capture time by more than the tolerance.
    /// Without an EXIF offset the comparison is made in the device's local time.
    ExifTimeMismatch { delta_secs: i64, tolerance_secs: i64, offset_known: bool },
    /// The EXIF GPS position and the platform fix disagree by more than both accuracies.
    ExifPositionMismatch { distance_m: f64, allowed_m: f64 },
    /// GNSS time and the device wall clock disagree by more than the tolerance.
    ClockMismatch { delta_secs: i64, tolerance_secs: i64 },
    /// 后补 — captured after the inspection's check-out.
    BackFilled { after_checkout_secs: i64 },
    /// The device clock differs from the provincial server's clock by more than the tolerance
    /// (server minus device, as sync last measured it): the wall-clock times are the device's.
    DeviceClockOff { offset_secs: i64, tolerance_secs: i64 },
}

/// A flag explained for a reviewer: its stable code and what it means, in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FlagMessage {
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

impl CaptureFlag {
    /// What the flag means, for the evidence screens.
    pub fn explained(&self) -> FlagMessage {
        let text = self.message();
        FlagMessage { code: self.code().to_owned(), message_zh: text.zh, message_en: text.en }
    }

    /// The stable name used on the wire and by the platforms.
    pub fn code(&self) -> &'static str {
        match self {
            CaptureFlag::NoLocation => "no_location",
            CaptureFlag::MockedLocation => "mocked_location",
            CaptureFlag::PoorAccuracy { .. } => "poor_accuracy",
            CaptureFlag::StaleFix { .. } => "stale_fix",
            CaptureFlag::OutsideSite { .. } => "outside_site",
            CaptureFlag::NoRegisteredSite => "no_registered_site",
            CaptureFlag::ExifMissing => "exif_missing",
            CaptureFlag::ExifUnreadable { .. } => "exif_unreadable",
            CaptureFlag::ExifIrregular { .. } => "exif_irregular",
            CaptureFlag::ExifGpsImplausible { .. } => "exif_gps_implausible",
            CaptureFlag::MediaIrregular { .. } => "media_irregular",
            CaptureFlag::PreviewOverBudget { .. } => "preview_over_budget",
            CaptureFlag::ExifTimeMismatch { .. } => "exif_time_mismatch",
            CaptureFlag::ExifPositionMismatch { .. } => "exif_position_mismatch",
            CaptureFlag::ClockMismatch { .. } => "clock_mismatch",
            CaptureFlag::BackFilled { .. } => "back_filled",
            CaptureFlag::DeviceClockOff { .. } => "device_clock_off",
        }
    }
}

impl CaptureFlag {
    /// What the flag means for a reviewer, in Chinese and English, for the evidence screens.
    pub fn message(&self) -> Message {
        match self {
            CaptureFlag::NoLocation => Message::new(
                "采集时没有定位，不能据此证明在现场。",
                "No location fix at capture; this item cannot show presence on site.",
            ),
            CaptureFlag::MockedLocation => Message::new(
                "定位来自模拟位置，不能单独证明在现场。",
                "The location came from a mock provider; it cannot alone prove presence on site.",
            ),
            CaptureFlag::PoorAccuracy { accuracy_m, threshold_m } => Message::new(
                format!("定位精度 {accuracy_m:.0} 米，低于要求的 {threshold_m:.0} 米，不能单独证明在现场。"),
                format!(
                    "Location accuracy {accuracy_m:.0} m is worse than the required {threshold_m:.0} m; it cannot alone prove presence on site."
                ),
            ),
            CaptureFlag::StaleFix { age_secs } => Message::new(
                format!("定位时间与拍摄时间相差 {} 秒，定位可能已过时。", age_secs.abs()),
                format!("The fix was taken {} s away from the capture; it may be stale.", age_secs.abs()),
            ),
            CaptureFlag::OutsideSite { distance_m } => Message::new(
                format!("采集位置在企业登记厂界外约 {distance_m:.0} 米。"),
                format!("Captured about {distance_m:.0} m outside the enterprise's registered site."),
            ),
            CaptureFlag::NoRegisteredSite => Message::new(
                "该企业未登记厂区位置，无法核对是否在现场。",
                "The enterprise has no registered site position, so presence cannot be checked.",
            ),
            CaptureFlag::ExifMissing => Message::new(
                "照片缺少相机拍摄时间（EXIF），相机自身记录缺失。",
                "The photo has no camera capture time (EXIF); the camera's own record is missing.",
            ),
            CaptureFlag::ExifUnreadable { fields } => Message::new(
                format!("照片 EXIF 字段无法读取：{}。", fields.join("、")),
                format!("Unreadable EXIF fields in the photo: {}.", fields.join(", ")),
            ),
            CaptureFlag::ExifIrregular { details } => Message::new(
                format!(
                    "照片 EXIF 元数据结构不规范（{}），常见于部分相机和编辑工具；可读字段均已保留，照片已按原样固定。",
                    details.join("、")
                ),
                format!(
                    "The photo's EXIF metadata is irregular ({}), as some cameras and tools write it; every readable field was kept and the photo was sealed as it is.",
                    details.join(", ")
                ),
            ),
            CaptureFlag::ExifGpsImplausible { reason } => Message::new(
                format!(
                    "照片 EXIF 中的 GPS 位置不可信（{reason}，如经纬度恰为 0,0），已按原样记录，未用于位置核对。"
                ),
                format!(
                    "The photo's EXIF GPS position is implausible ({reason}, e.g. exactly 0,0); it is recorded as written and not used to check the position."
                ),
            ),
            CaptureFlag::MediaIrregular { details } => Message::new(
                format!("文件结构不规范（{}），解码器可以容忍；文件已按原样固定。", details.join("、")),
                format!(
                    "The file's structure is irregular ({}) in a way decoders tolerate; it was sealed exactly as it is.",
                    details.join(", ")
                ),
            ),
            CaptureFlag::PreviewOverBudget { needed_bytes, budget_bytes } => Message::new(
                format!(
                    "生成预览约需 {} MiB 内存，超过 {} MiB 的上限，未生成预览；证据原件已完整固定。",
                    needed_bytes >> 20,
                    budget_bytes >> 20
                ),
                format!(
                    "A preview would need about {} MiB of memory, over the {} MiB budget, so none was made; the original is sealed in full.",
                    needed_bytes >> 20,
                    budget_bytes >> 20
                ),
            ),
            CaptureFlag::ExifTimeMismatch { delta_secs, tolerance_secs, .. } => Message::new(
                format!("相机时间与设备时间相差 {} 秒，超过允许的 {tolerance_secs} 秒。", delta_secs.abs()),
                format!(
                    "Camera time and device time differ by {} s, more than the allowed {tolerance_secs} s.",
                    delta_secs.abs()
                ),
            ),
            CaptureFlag::ExifPositionMismatch { distance_m, allowed_m } => Message::new(
                format!("照片 GPS 与设备定位相差 {distance_m:.0} 米，超过允许的 {allowed_m:.0} 米。"),
                format!(
                    "Photo GPS and device fix differ by {distance_m:.0} m, more than the allowed {allowed_m:.0} m."
                ),
            ),
            CaptureFlag::ClockMismatch { delta_secs, tolerance_secs } => Message::new(
                format!("卫星时间与设备时钟相差 {} 秒，超过允许的 {tolerance_secs} 秒。", delta_secs.abs()),
                format!(
                    "GNSS time and the device clock differ by {} s, more than the allowed {tolerance_secs} s.",
                    delta_secs.abs()
                ),
            ),
            CaptureFlag::BackFilled { after_checkout_secs } => Message::new(
                format!("后补：在检查结束（签退）后 {} 分钟采集。", after_checkout_secs / 60),
                format!("Back-filled: captured {} min after check-out.", after_checkout_secs / 60),
            ),
            CaptureFlag::DeviceClockOff { offset_secs, .. } => {
                let (zh, en) = if *offset_secs > 0 { ("慢", "behind") } else { ("快", "ahead of") };
                let minutes = offset_secs.abs() / 60;
                Message::new(
                    format!(
                        "设备时钟比省级系统时钟{zh}约 {minutes} 分钟；记录的是设备时间，核对时请按此差值换算。"
                    ),
                    format!(
                        "The device clock was about {minutes} min {en} the provincial server's clock; the times recorded are the device's, so allow for this difference when reviewing."
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_has_a_stable_code_and_text_in_both_languages() {
        let flags = [
            CaptureFlag::NoLocation,
            CaptureFlag::MockedLocation,
            CaptureFlag::PoorAccuracy { accuracy_m: 80.0, threshold_m: 50.0 },
            CaptureFlag::StaleFix { age_secs: 300 },
            CaptureFlag::OutsideSite { distance_m: 600.0 },
            CaptureFlag::NoRegisteredSite,
            CaptureFlag::ExifMissing,
            CaptureFlag::ExifUnreadable { fields: vec!["gps".into()] },
            CaptureFlag::ExifIrregular { details: vec!["unexpected_next_ifd".into()] },
            CaptureFlag::ExifGpsImplausible { reason: "null_island".into() },
            CaptureFlag::MediaIrregular { details: vec!["jpeg_stray_bytes".into()] },
            CaptureFlag::PreviewOverBudget { needed_bytes: 2 << 30, budget_bytes: 48 << 20 },
            CaptureFlag::ExifTimeMismatch { delta_secs: 3600, tolerance_secs: 120, offset_known: true },
            CaptureFlag::ExifPositionMismatch { distance_m: 120.0, allowed_m: 20.0 },
            CaptureFlag::ClockMismatch { delta_secs: 90, tolerance_secs: 30 },
            CaptureFlag::BackFilled { after_checkout_secs: 7200 },
            CaptureFlag::DeviceClockOff { offset_secs: 10_800, tolerance_secs: 300 },
        ];
        for f in flags {
            let v = serde_json::to_value(&f).unwrap();
            assert_eq!(v["flag"], f.code());
            let back: CaptureFlag = serde_json::from_value(v).unwrap();
            assert_eq!(back, f);
            let text = f.message();
            assert!(
                text.zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{}: {}",
                f.code(),
                text.zh
            );
            assert!(text.en.is_ascii() && !text.en.is_empty(), "{}: {}", f.code(), text.en);
            // A quirk is never an accusation: no flag blames tampering.
            assert!(!text.en.to_lowercase().contains("tamper") && !text.zh.contains("篡改"), "{}", f.code());
        }
    }
}

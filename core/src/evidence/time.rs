//! When a capture was made, from every clock that saw it, and where those clocks disagree.
//!
//! The device wall clock can be set by hand; the monotonic clock cannot but only counts from boot;
//! GNSS time comes from the satellites; the server offset is the last measured difference to the
//! provincial server. All are recorded. Disagreements become flags, never corrections.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::{CaptureFlag, EvidenceError, ExifSummary};

/// The clocks at the moment of capture, as the platform read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CaptureClock {
    /// Device wall clock with the device's UTC offset at that moment.
    pub wall_clock: DateTime<FixedOffset>,
    /// Milliseconds since boot (Android `elapsedRealtime`, iOS `systemUptime`-like).
    pub monotonic_ms: u64,
    /// Time from the GNSS receiver, when the fix carried one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub gnss_time: Option<DateTime<Utc>>,
    /// Server clock minus device clock, in milliseconds, as last measured during sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub server_offset_ms: Option<i64>,
}

impl CaptureClock {
    pub fn wall_utc(&self) -> DateTime<Utc> {
        self.wall_clock.with_timezone(&Utc)
    }

    pub fn validate(&self) -> Result<(), EvidenceError> {
        // ±14 h covers every real zone; anything wider is a bug on the platform side.
        if self.wall_clock.offset().local_minus_utc().abs() > 14 * 3600 {
            return Err(EvidenceError::invalid("wall_clock", "UTC offset beyond ±14 h"));
        }
        Ok(())
    }
}

/// Tolerances for the time flags (practice: provinces may tune them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimePolicy {
    /// EXIF DateTimeOriginal may differ from the platform capture time by this much.
    pub exif_tolerance_secs: i64,
    /// GNSS time may differ from the wall clock by this much.
    pub gnss_tolerance_secs: i64,
    /// The device clock may differ from the provincial server's (the offset sync measured) by
    /// this much.
    pub server_offset_tolerance_secs: i64,
}

impl Default for TimePolicy {
    fn default() -> Self {
        Self { exif_tolerance_secs: 120, gnss_tolerance_secs: 30, server_offset_tolerance_secs: 300 }
    }
}

/// The clock reading with the server offset sync last measured filled in, when the platform gave
/// none. A reading that carries its own offset is kept as it is.
pub fn with_known_offset(clock: &CaptureClock, known_server_offset_ms: Option<i64>) -> CaptureClock {
    let mut clock = clock.clone();
    if clock.server_offset_ms.is_none() {
        clock.server_offset_ms = known_server_offset_ms;
    }
    clock
}

/// Compares the clocks with each other, with EXIF and with the inspection's check-out.
///
/// `exif_expected` is true for photos: a camera photo without EXIF lost its own record of time and
/// place. `checked_out_at` is the inspection's 离场 (check-out) time, if it happened.
pub fn check_times(
    clock: &CaptureClock,
    exif: Option<&ExifSummary>,
    exif_expected: bool,
    checked_out_at: Option<DateTime<Utc>>,
    policy: &TimePolicy,
) -> Vec<CaptureFlag> {
    let mut flags = Vec::new();
    match exif {
        Some(exif) => {
            if !exif.unreadable.is_empty() {
                flags.push(CaptureFlag::ExifUnreadable { fields: exif.unreadable.clone() });
            }
            if let Some(delta_secs) = exif_delta_secs(exif, clock) {
                if delta_secs.abs() > policy.exif_tolerance_secs {
                    flags.push(CaptureFlag::ExifTimeMismatch {
                        delta_secs,
                        tolerance_secs: policy.exif_tolerance_secs,
                        offset_known: exif.offset_minutes.is_some(),
                    });
                }
            } else if exif_expected && !exif.unreadable.iter().any(|f| f == "date_time_original") {
                flags.push(CaptureFlag::ExifMissing);
            }
        }
        None if exif_expected => flags.push(CaptureFlag::ExifMissing),
        None => {}
    }
    if let Some(gnss) = clock.gnss_time {
        let delta_secs = (clock.wall_utc() - gnss).num_seconds();
        if delta_secs.abs() > policy.gnss_tolerance_secs {
            flags.push(CaptureFlag::ClockMismatch { delta_secs, tolerance_secs: policy.gnss_tolerance_secs });
        }
    }
    if let Some(offset_ms) = clock.server_offset_ms {
        let offset_secs = offset_ms / 1000;
        if offset_secs.abs() > policy.server_offset_tolerance_secs {
            flags.push(CaptureFlag::DeviceClockOff {
                offset_secs,
                tolerance_secs: policy.server_offset_tolerance_secs,
            });
        }
    }
    if let Some(out) = checked_out_at {
        let after = (clock.wall_utc() - out).num_seconds();
        if after > 0 {
            flags.push(CaptureFlag::BackFilled { after_checkout_secs: after });
        }
    }
    flags
}

/// EXIF time minus platform time, in seconds. With an EXIF offset both are instants; without one,
/// DateTimeOriginal is the camera's local time and is compared with the device's local time.
fn exif_delta_secs(exif: &ExifSummary, clock: &CaptureClock) -> Option<i64> {
    if let Some(at) = exif.captured_at() {
        return Some((at.with_timezone(&Utc) - clock.wall_utc()).num_seconds());
    }
    let local = exif.date_time_original?;
    Some((local - clock.wall_clock.naive_local()).num_seconds())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn clock(h: u32, m: u32, s: u32) -> CaptureClock {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        CaptureClock {
            wall_clock: tz.with_ymd_and_hms(2024, 5, 6, h, m, s).unwrap(),
            monotonic_ms: 123_456,
            gnss_time: None,
            server_offset_ms: None,
        }
    }

    fn exif_at(h: u32, m: u32, s: u32, offset: Option<i32>) -> ExifSummary {
        ExifSummary {
            date_time_original: NaiveDate::from_ymd_opt(2024, 5, 6).unwrap().and_hms_opt(h, m, s),
            offset_minutes: offset,
            ..Default::default()
        }
    }

    #[test]
    fn exif_time_within_tolerance_is_not_flagged() {
        let p = TimePolicy::default();
        let flags = check_times(&clock(14, 30, 0), Some(&exif_at(14, 29, 10, Some(480))), true, None, &p);
        assert!(flags.is_empty(), "{flags:?}");
    }

    #[test]
    fn exif_time_beyond_tolerance_is_flagged_with_the_signed_gap() {
        let p = TimePolicy::default();
        let flags = check_times(&clock(14, 30, 0), Some(&exif_at(13, 30, 0, Some(480))), true, None, &p);
        assert_eq!(
            flags,
            vec![CaptureFlag::ExifTimeMismatch {
                delta_secs: -3600,
                tolerance_secs: 120,
                offset_known: true
            }]
        );
    }

    #[test]
    fn exif_offset_is_honoured_when_present() {
        // 06:30 at UTC+0 is the same instant as 14:30 at UTC+8: no mismatch.
        let p = TimePolicy::default();
        let flags = check_times(&clock(14, 30, 0), Some(&exif_at(6, 30, 0, Some(0))), true, None, &p);
        assert!(flags.is_empty(), "{flags:?}");
        // Without an offset the same 06:30 is compared as local time and is 8 h off.
        let flags = check_times(&clock(14, 30, 0), Some(&exif_at(6, 30, 0, None)), true, None, &p);
        assert!(matches!(
            flags[..],
            [CaptureFlag::ExifTimeMismatch { delta_secs: -28800, offset_known: false, .. }]
        ));
    }

    #[test]
    fn missing_exif_is_flagged_for_photos_only() {
        let p = TimePolicy::default();
        assert_eq!(check_times(&clock(14, 30, 0), None, true, None, &p), vec![CaptureFlag::ExifMissing]);
        assert!(check_times(&clock(14, 30, 0), None, false, None, &p).is_empty());
        let no_time = ExifSummary { make: Some("OPPO".into()), ..Default::default() };
        assert_eq!(
            check_times(&clock(14, 30, 0), Some(&no_time), true, None, &p),
            vec![CaptureFlag::ExifMissing]
        );
    }

    #[test]
    fn capture_after_check_out_is_back_filled() {
        let p = TimePolicy::default();
        let out = Utc.with_ymd_and_hms(2024, 5, 6, 6, 0, 0).unwrap(); // 14:00 at UTC+8
        let flags = check_times(&clock(14, 30, 0), None, false, Some(out), &p);
        assert_eq!(flags, vec![CaptureFlag::BackFilled { after_checkout_secs: 1800 }]);
        assert!(check_times(&clock(13, 59, 0), None, false, Some(out), &p).is_empty());
    }

    #[test]
    fn a_device_clock_hours_off_the_server_is_flagged_with_the_measured_offset() {
        let p = TimePolicy::default();
        // Sync measured the server three hours ahead; the platform gave no offset of its own.
        let c = with_known_offset(&clock(14, 30, 0), Some(3 * 3600 * 1000 + 250));
        assert_eq!(c.server_offset_ms, Some(10_800_250));
        assert_eq!(
            check_times(&c, None, false, None, &p),
            vec![CaptureFlag::DeviceClockOff { offset_secs: 10_800, tolerance_secs: 300 }]
        );
        // Within the tolerance, or never measured: nothing to flag.
        assert!(
            check_times(&with_known_offset(&clock(14, 30, 0), Some(-4_000)), None, false, None, &p)
                .is_empty()
        );
        assert!(check_times(&with_known_offset(&clock(14, 30, 0), None), None, false, None, &p).is_empty());
        // The platform's own reading wins over the stored one.
        let mut own = clock(14, 30, 0);
        own.server_offset_ms = Some(1_000);
        assert_eq!(with_known_offset(&own, Some(10_800_000)).server_offset_ms, Some(1_000));
    }

    #[test]
    fn gnss_time_disagreeing_with_the_wall_clock_is_flagged() {
        let p = TimePolicy::default();
        let mut c = clock(14, 30, 0);
        c.gnss_time = Some(Utc.with_ymd_and_hms(2024, 5, 6, 6, 25, 0).unwrap());
        assert_eq!(
            check_times(&c, None, false, None, &p),
            vec![CaptureFlag::ClockMismatch { delta_secs: 300, tolerance_secs: 30 }]
        );
    }
}

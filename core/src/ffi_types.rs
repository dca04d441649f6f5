//! How chrono and path types cross to Kotlin and Swift (only with the `uniffi` feature): as text in
//! the form the core already stores and signs. A malformed value from the app is refused with a
//! typed `FieldsealError::InvalidInput` naming the expected form, never a panic.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

use crate::explain::FieldsealError;

/// A calendar date, ISO `YYYY-MM-DD`.
pub type IsoDate = NaiveDate;
/// A moment with the device's UTC offset, RFC 3339: `2025-03-18T09:30:15.250+08:00`.
pub type LocalTime = DateTime<FixedOffset>;
/// A moment in UTC, RFC 3339.
pub type UtcTime = DateTime<Utc>;
/// A wall-clock time without an offset, `YYYY-MM-DDTHH:MM:SS` (EXIF DateTimeOriginal).
pub type WallTime = NaiveDateTime;
/// A file path under the app's private storage.
pub type FilePath = PathBuf;

fn refused(what: &str, form: &str) -> uniffi::deps::anyhow::Error {
    FieldsealError::malformed_text(what, form).into()
}

uniffi::custom_type!(IsoDate, String, {
    remote,
    lower: |d| d.to_string(),
    try_lift: |s| s.trim().parse().map_err(|_| refused("date", "YYYY-MM-DD")),
});

uniffi::custom_type!(LocalTime, String, {
    remote,
    lower: |t| t.to_rfc3339(),
    try_lift: |s| DateTime::parse_from_rfc3339(s.trim()).map_err(|_| refused("time", "RFC 3339 with its UTC offset")),
});

uniffi::custom_type!(UtcTime, String, {
    remote,
    lower: |t| t.to_rfc3339(),
    try_lift: |s| DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| refused("time", "RFC 3339 with its UTC offset")),
});

uniffi::custom_type!(WallTime, String, {
    remote,
    lower: |t| t.format("%Y-%m-%dT%H:%M:%S").to_string(),
    try_lift: |s| NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S").map_err(|_| refused("time", "YYYY-MM-DDTHH:MM:SS")),
});

uniffi::custom_type!(FilePath, String, {
    remote,
    // Paths the core hands out live under the data directory the app named as a `String`, with
    // ids for file names, so they are valid UTF-8.
    lower: |p| p.to_string_lossy().into_owned(),
    try_lift: |s| Ok(PathBuf::from(s)),
});

//! EXIF GPS (the camera's own position fix) read as every device writes it.
//!
//! Cameras disagree on the encoding: most write unsigned RATIONAL degrees/minutes/seconds with
//! `N`/`S` and `E`/`W` references, current Android phones write SRATIONAL, some write one decimal
//! degree, some leave components as `0/0` when they had no value, some write an altitude without a
//! position. Each part is read on its own and kept when it is readable; a part that is present but
//! cannot be read is named in `unreadable`; an encoding quirk that was read anyway is named in
//! `irregular`. Nothing is "corrected": a signed value is combined with its reference exactly as
//! exiftool combines them, so both tools report the same number.

use ::exif::{Tag, Value};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::GeoPoint;

/// EXIF GPS as the camera recorded it (WGS-84). Every part is optional: a camera may write an
/// altitude or a time without a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ExifGps {
    /// Decimal degrees, south negative. Present exactly when `lon` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Decimal degrees, west negative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Metres above sea level, below negative (GPSAltitudeRef 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude_m: Option<f64>,
    /// GPSHPositioningError in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h_positioning_error_m: Option<f64>,
    /// GPSDateStamp + GPSTimeStamp, which are UTC by definition, to the fraction of a second the
    /// camera wrote (exact to the nanosecond; no float rounding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_utc: Option<DateTime<Utc>>,
}

impl ExifGps {
    /// The position, when both coordinates were readable.
    pub fn position(&self) -> Option<GeoPoint> {
        Some(GeoPoint::new(self.lat?, self.lon?))
    }

    /// Exactly 0° N 0° E ("null island"): what a camera writes when it had no fix but filled the
    /// fields anyway. Recorded as written, flagged, and never compared with the platform fix.
    pub fn is_null_island(&self) -> bool {
        self.lat == Some(0.0) && self.lon == Some(0.0)
    }
}

/// What [`read_gps`] found: the readable parts, and the names of what was odd.
#[derive(Debug, Default)]
pub(super) struct GpsReading {
    pub gps: Option<ExifGps>,
    /// Parts present but unreadable (`gps_latitude`, `gps_time`, ...).
    pub unreadable: Vec<&'static str>,
    /// Quirks read anyway (`gps_signed_negative`, `gps_zero_over_zero`, ...).
    pub irregular: Vec<&'static str>,
}

impl GpsReading {
    fn note(list: &mut Vec<&'static str>, code: &'static str) {
        if !list.contains(&code) {
            list.push(code);
        }
    }
}

/// One rational component.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    /// `0/0`: the camera had no value for this component.
    Missing,
    /// `num/den` with `den > 0`.
    Ratio { num: i64, den: i64 },
    /// `n/0` with `n ≠ 0`: not a number.
    Invalid,
}

impl Part {
    fn f64(self) -> Option<f64> {
        match self {
            Part::Ratio { num, den } => Some(num as f64 / den as f64),
            _ => None,
        }
    }
}

/// RATIONAL or SRATIONAL components; `None` for any other type.
fn parts(v: &Value) -> Option<Vec<Part>> {
    let part = |num: i64, den: i64| match (num, den) {
        (0, 0) => Part::Missing,
        (_, 0) => Part::Invalid,
        // A negative denominator carries the sign; keep `den > 0`.
        (n, d) if d < 0 => Part::Ratio { num: -n, den: -d },
        (n, d) => Part::Ratio { num: n, den: d },
    };
    match v {
        Value::Rational(r) => Some(r.iter().map(|x| part(x.num.into(), x.denom.into())).collect()),
        Value::SRational(r) => Some(r.iter().map(|x| part(x.num.into(), x.denom.into())).collect()),
        _ => None,
    }
}

/// The first component as a number: `Ok(None)` for `0/0`, `Err` when unreadable.
fn single(v: &Value, out: &mut GpsReading) -> Result<Option<f64>, ()> {
    let parts = parts(v).ok_or(())?;
    match parts.first().copied() {
        None | Some(Part::Invalid) => Err(()),
        Some(Part::Missing) => {
            GpsReading::note(&mut out.irregular, "gps_zero_over_zero");
            Ok(None)
        }
        Some(p) => p.f64().filter(|x| x.is_finite()).map(Some).ok_or(()),
    }
}

/// Reads the GPS parts present among `field`'s values (the GPS IFD).
pub(super) fn read_gps<'a>(field: &impl Fn(Tag) -> Option<&'a Value>) -> GpsReading {
    let mut out = GpsReading::default();
    let lat = coordinate(field(Tag::GPSLatitude), field(Tag::GPSLatitudeRef), (b'N', b'S'), 90.0, &mut out)
        .map_err(|()| GpsReading::note(&mut out.unreadable, "gps_latitude"))
        .ok()
        .flatten();
    let lon =
        coordinate(field(Tag::GPSLongitude), field(Tag::GPSLongitudeRef), (b'E', b'W'), 180.0, &mut out)
            .map_err(|()| GpsReading::note(&mut out.unreadable, "gps_longitude"))
            .ok()
            .flatten();
    let (lat, lon) = match (lat, lon) {
        (Some(lat), Some(lon)) => (Some(lat), Some(lon)),
        (None, None) => (None, None),
        _ => {
            // Half a position is no position; the readable half stays visible in the raw file.
            GpsReading::note(&mut out.irregular, "gps_position_incomplete");
            (None, None)
        }
    };

    let altitude_m = match field(Tag::GPSAltitude).map(|v| single(v, &mut out)) {
        None | Some(Ok(None)) => None,
        Some(Err(())) => {
            GpsReading::note(&mut out.unreadable, "gps_altitude");
            None
        }
        Some(Ok(Some(alt))) => {
            let below = match field(Tag::GPSAltitudeRef) {
                None => false,
                Some(Value::Byte(b)) => match b.first() {
                    Some(0) | None => false,
                    Some(1) => true,
                    Some(_) => {
                        GpsReading::note(&mut out.irregular, "gps_altitude_ref_invalid");
                        false
                    }
                },
                Some(_) => {
                    GpsReading::note(&mut out.irregular, "gps_altitude_ref_invalid");
                    false
                }
            };
            // As exiftool: a reference of 1 negates whatever number was written.
            Some(if below { -alt } else { alt })
        }
    };
    let h_positioning_error_m = match field(Tag::GPSHPositioningError).map(|v| single(v, &mut out)) {
        Some(Ok(Some(e))) if e >= 0.0 => Some(e),
        None | Some(Ok(None)) => None,
        Some(_) => {
            GpsReading::note(&mut out.unreadable, "gps_h_positioning_error");
            None
        }
    };
    let time_utc = gps_time(field(Tag::GPSDateStamp), field(Tag::GPSTimeStamp), &mut out);

    let any = lat.is_some() || altitude_m.is_some() || h_positioning_error_m.is_some() || time_utc.is_some();
    out.gps = any.then_some(ExifGps { lat, lon, altitude_m, h_positioning_error_m, time_utc });
    out
}

/// One coordinate from its D/M/S components and reference. `Ok(None)` when absent or when the
/// degrees are `0/0`; `Err` when present but unreadable.
fn coordinate(
    value: Option<&Value>,
    reference: Option<&Value>,
    (positive, negative): (u8, u8),
    limit: f64,
    out: &mut GpsReading,
) -> Result<Option<f64>, ()> {
    let Some(value) = value else { return Ok(None) };
    let parts = parts(value).ok_or(())?;
    if parts.is_empty() || parts.len() > 3 || parts.contains(&Part::Invalid) {
        return Err(());
    }
    if parts.contains(&Part::Missing) {
        GpsReading::note(&mut out.irregular, "gps_zero_over_zero");
    }
    if parts[0] == Part::Missing {
        return Ok(None);
    }
    if parts.iter().any(|p| matches!(p, Part::Ratio { num, .. } if *num < 0)) {
        GpsReading::note(&mut out.irregular, "gps_signed_negative");
    }
    // Missing minutes or seconds contribute nothing (they are unknown, not zero degrees off).
    let scale = [1.0, 60.0, 3600.0];
    let degrees: f64 = parts.iter().zip(scale).filter_map(|(p, s)| p.f64().map(|v| v / s)).sum();
    let reference = reference.and_then(first_ascii).map(|r| r.trim_ascii()).and_then(|r| r.first());
    let signed = match reference.map(u8::to_ascii_uppercase) {
        Some(r) if r == negative => -degrees,
        Some(r) if r == positive => degrees,
        Some(_) => {
            GpsReading::note(&mut out.irregular, "gps_ref_invalid");
            degrees
        }
        None => {
            GpsReading::note(&mut out.irregular, "gps_ref_missing");
            degrees
        }
    };
    if !signed.is_finite() || signed.abs() > limit {
        return Err(());
    }
    Ok(Some(signed))
}

fn first_ascii(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Ascii(parts) => parts.first().map(|p| p.as_slice()),
        _ => None,
    }
}

/// GPSDateStamp + GPSTimeStamp as one UTC instant, exact to the nanosecond.
fn gps_time(date: Option<&Value>, time: Option<&Value>, out: &mut GpsReading) -> Option<DateTime<Utc>> {
    let time = time?;
    let nanos = match time_of_day_nanos(time) {
        Some(n) => n,
        None => {
            GpsReading::note(&mut out.unreadable, "gps_time");
            return None;
        }
    };
    let Some(date) = date else {
        GpsReading::note(&mut out.irregular, "gps_date_missing");
        return None;
    };
    let day = first_ascii(date)
        .and_then(|d| std::str::from_utf8(d).ok())
        .map(|d| d.trim_matches(|c: char| c == '\0' || c.is_whitespace()))
        .and_then(|d| {
            NaiveDate::parse_from_str(d, "%Y:%m:%d")
                .or_else(|_| NaiveDate::parse_from_str(d, "%Y-%m-%d"))
                .ok()
        });
    let Some(day) = day else {
        GpsReading::note(&mut out.unreadable, "gps_date");
        return None;
    };
    let secs = u32::try_from(nanos / 1_000_000_000).ok()?;
    let frac = u32::try_from(nanos % 1_000_000_000).ok()?;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(secs, frac)?;
    Some(Utc.from_utc_datetime(&day.and_time(time)))
}

/// Hours, minutes and seconds (three non-negative rationals) as nanoseconds since midnight,
/// computed in integers so `14.25` s stays exactly `14.250` s.
fn time_of_day_nanos(v: &Value) -> Option<i128> {
    let parts = parts(v)?;
    if parts.len() != 3 {
        return None;
    }
    let mut total: i128 = 0;
    for (part, unit_secs) in parts.into_iter().zip([3600i128, 60, 1]) {
        let Part::Ratio { num, den } = part else { return None };
        if num < 0 {
            return None;
        }
        total += i128::from(num) * unit_secs * 1_000_000_000 / i128::from(den);
    }
    (total < 86_400 * 1_000_000_000).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::exif::{Rational, SRational};

    fn read(fields: &[(Tag, Value)]) -> GpsReading {
        read_gps(&|tag| fields.iter().find(|(t, _)| *t == tag).map(|(_, v)| v))
    }

    fn ascii(s: &str) -> Value {
        Value::Ascii(vec![s.as_bytes().to_vec()])
    }

    fn urat(v: &[(u32, u32)]) -> Value {
        Value::Rational(v.iter().map(|&(n, d)| Rational::from((n, d))).collect())
    }

    fn srat(v: &[(i32, i32)]) -> Value {
        Value::SRational(v.iter().map(|&(n, d)| SRational::from((n, d))).collect())
    }

    #[test]
    fn signed_rationals_read_like_unsigned_ones() {
        let r = read(&[
            (Tag::GPSLatitudeRef, ascii("N")),
            (Tag::GPSLatitude, srat(&[(30, 1), (16, 1), (2676, 100)])),
            (Tag::GPSLongitudeRef, ascii("E")),
            (Tag::GPSLongitude, srat(&[(120, 1), (9, 1), (1836, 100)])),
        ]);
        let gps = r.gps.clone().unwrap();
        assert!((gps.lat.unwrap() - (30.0 + 16.0 / 60.0 + 26.76 / 3600.0)).abs() < 1e-12);
        assert!((gps.lon.unwrap() - (120.0 + 9.0 / 60.0 + 18.36 / 3600.0)).abs() < 1e-12);
        assert!(r.unreadable.is_empty() && r.irregular.is_empty(), "{r:?}");
    }

    #[test]
    fn a_negative_signed_value_is_kept_and_named_irregular() {
        let r = read(&[
            (Tag::GPSLatitude, srat(&[(-33, 1), (0, 1), (0, 1)])),
            (Tag::GPSLongitudeRef, ascii("W")),
            (Tag::GPSLongitude, urat(&[(70, 1), (30, 1), (0, 1)])),
        ]);
        let gps = r.gps.clone().unwrap();
        assert_eq!(gps.lat, Some(-33.0));
        assert_eq!(gps.lon, Some(-70.5));
        assert!(r.irregular.contains(&"gps_signed_negative") && r.irregular.contains(&"gps_ref_missing"));
    }

    #[test]
    fn zero_over_zero_seconds_are_missing_not_zero_and_degrees_zero_over_zero_mean_no_position() {
        let r = read(&[
            (Tag::GPSLatitudeRef, ascii("N")),
            (Tag::GPSLatitude, urat(&[(30, 1), (15, 1), (0, 0)])),
            (Tag::GPSLongitudeRef, ascii("E")),
            (Tag::GPSLongitude, urat(&[(120, 1), (30, 1), (0, 0)])),
        ]);
        assert_eq!(r.gps.as_ref().unwrap().position(), Some(GeoPoint::new(30.25, 120.5)));
        assert_eq!(r.irregular, vec!["gps_zero_over_zero"]);

        let r = read(&[
            (Tag::GPSLatitudeRef, ascii("N")),
            (Tag::GPSLatitude, urat(&[(0, 0), (0, 0), (0, 0)])),
            (Tag::GPSLongitudeRef, ascii("E")),
            (Tag::GPSLongitude, urat(&[(0, 0), (0, 0), (0, 0)])),
            (Tag::GPSAltitude, urat(&[(0, 0)])),
        ]);
        assert!(r.gps.is_none(), "nothing readable means no GPS, not 0,0: {r:?}");
    }

    #[test]
    fn altitude_without_position_is_kept() {
        let r = read(&[(Tag::GPSAltitudeRef, Value::Byte(vec![0])), (Tag::GPSAltitude, urat(&[(4321, 10)]))]);
        let gps = r.gps.unwrap();
        assert_eq!((gps.lat, gps.lon, gps.altitude_m), (None, None, Some(432.1)));
        assert!(r.unreadable.is_empty());
    }

    #[test]
    fn an_unreadable_latitude_keeps_the_altitude_and_names_the_latitude() {
        let r = read(&[
            (Tag::GPSLatitudeRef, ascii("N")),
            (Tag::GPSLatitude, urat(&[(33, 0), (0, 1), (0, 1)])),
            (Tag::GPSLongitudeRef, ascii("E")),
            (Tag::GPSLongitude, urat(&[(70, 1), (0, 1), (0, 1)])),
            (Tag::GPSAltitude, srat(&[(-125, 10)])),
        ]);
        let gps = r.gps.unwrap();
        assert_eq!(gps.position(), None);
        assert_eq!(gps.altitude_m, Some(-12.5));
        assert_eq!(r.unreadable, vec!["gps_latitude"]);
        assert!(r.irregular.contains(&"gps_position_incomplete"));
    }

    #[test]
    fn gps_time_keeps_the_fraction_written_exactly() {
        let r = read(&[
            (Tag::GPSDateStamp, ascii("2024:05:06")),
            (Tag::GPSTimeStamp, urat(&[(6, 1), (30, 1), (1425, 100)])),
        ]);
        let t = r.gps.unwrap().time_utc.unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-06T06:30:14.250+00:00");
        let r = read(&[
            (Tag::GPSDateStamp, ascii("2024:05:06")),
            (Tag::GPSTimeStamp, urat(&[(6, 1), (30, 1), (14_123_457, 1_000_000)])),
        ]);
        assert_eq!(r.gps.unwrap().time_utc.unwrap().to_rfc3339(), "2024-05-06T06:30:14.123457+00:00");
    }

    #[test]
    fn null_island_is_recognised() {
        let r = read(&[
            (Tag::GPSLatitudeRef, ascii("N")),
            (Tag::GPSLatitude, urat(&[(0, 1), (0, 1), (0, 1)])),
            (Tag::GPSLongitudeRef, ascii("E")),
            (Tag::GPSLongitude, urat(&[(0, 1), (0, 1), (0, 1)])),
        ]);
        assert!(r.gps.unwrap().is_null_island());
    }
}

//! 服务器时钟 — the device clock measured against intake's, for the time fields of later captures.
//!
//! Three sources carry intake's clock: a token grant's `server_time`, a pull page's `server_time`
//! (both to the millisecond) and the HTTP `Date` header of any answer (to the second). Each gives a
//! [`ClockSample`]: the server stamped its time somewhere inside the round trip, so the device time
//! it is compared with is the middle of the trip, and the sample is good to within half the trip
//! (plus half a second for a `Date`, whose fraction was cut off) — its `bound_ms`.
//!
//! The client keeps the freshest sample, except that a fresh sample with a looser bound does not
//! replace a tighter one taken less than [`STALE_AFTER`] before it: the `Date` of a slow 1 MB chunk
//! does not overwrite the millisecond-exact token grant of a moment ago, but it does stand in once
//! that grant is old (a long upload pass, or no token or pull answer at all).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Server clock minus device clock, measured around one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSample {
    pub offset_ms: i64,
    /// The device clock when the answer arrived.
    pub measured_at: DateTime<Utc>,
    /// The offset is good to ± this: half the round trip, plus the server time's own resolution.
    pub bound_ms: i64,
}

/// How long a tighter sample holds against a fresher, looser one.
pub const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What the server's time was read from, with its resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTime {
    /// `server_time` of a token grant or a pull page (milliseconds).
    Stamped(DateTime<Utc>),
    /// The HTTP `Date` header (whole seconds, the fraction cut off).
    DateHeader(DateTime<Utc>),
}

impl ClockSample {
    /// The sample of an answer carrying `server` time that took `round_trip` and arrived at
    /// `received` on the device clock.
    pub fn measure(server: ServerTime, round_trip: Duration, received: DateTime<Utc>) -> Self {
        let half_trip = chrono::Duration::from_std(round_trip / 2).unwrap_or(chrono::TimeDelta::MAX / 4);
        let device_then = received - half_trip;
        let (server_then, resolution_ms) = match server {
            ServerTime::Stamped(at) => (at, 0),
            // Anywhere in [Date, Date + 1 s): take the middle.
            ServerTime::DateHeader(at) => (at + chrono::TimeDelta::milliseconds(500), 500),
        };
        ClockSample {
            offset_ms: (server_then - device_then).num_milliseconds(),
            measured_at: received,
            bound_ms: half_trip.num_milliseconds().saturating_add(resolution_ms),
        }
    }

    /// Whether this sample should replace `held` (see the module header).
    pub fn supersedes(&self, held: Option<&ClockSample>) -> bool {
        match held {
            None => true,
            Some(held) if self.measured_at < held.measured_at => false,
            Some(held) => {
                self.bound_ms <= held.bound_ms || self.measured_at - held.measured_at >= STALE_AFTER
            }
        }
    }
}

/// An HTTP-date (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), or `None`.
pub fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value.trim()).ok().map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn an_http_date_is_read_and_anything_else_is_not() {
        assert_eq!(parse_http_date("Tue, 01 Dec 2026 11:00:07 GMT"), Some(at("2026-12-01T11:00:07Z")));
        for bad in ["", "yesterday", "2026-12-01T11:00:07Z", "Tue, 41 Dec 2026 11:00:07 GMT"] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_offset_is_taken_at_the_middle_of_the_trip_and_bounded_by_half_of_it() {
        let received = at("2026-12-01T08:00:01Z");
        let stamped = ClockSample::measure(
            ServerTime::Stamped(at("2026-12-01T11:00:00.500Z")),
            Duration::from_millis(1_000),
            received,
        );
        // The device was at 08:00:00.5 in the middle of the trip.
        assert_eq!(stamped.offset_ms, 3 * 3_600_000);
        assert_eq!(stamped.bound_ms, 500);
        let dated = ClockSample::measure(
            ServerTime::DateHeader(at("2026-12-01T11:00:00Z")),
            Duration::from_millis(1_000),
            received,
        );
        assert_eq!(dated.offset_ms, 3 * 3_600_000, "a Date is read at the middle of its second");
        assert_eq!(dated.bound_ms, 1_000);
    }

    #[test]
    fn the_freshest_sample_wins_unless_a_tighter_one_is_not_yet_stale() {
        let sample = |secs: i64, bound_ms: i64| ClockSample {
            offset_ms: secs,
            measured_at: at("2026-12-01T08:00:00Z") + chrono::TimeDelta::seconds(secs),
            bound_ms,
        };
        let token = sample(0, 5);
        assert!(token.supersedes(None));
        assert!(sample(10, 5).supersedes(Some(&token)), "fresher and as tight");
        assert!(!sample(10, 900).supersedes(Some(&token)), "fresher but looser, the tight one is recent");
        assert!(sample(60, 900).supersedes(Some(&token)), "the tight one went stale");
        assert!(!sample(0, 1).supersedes(Some(&sample(10, 900))), "never an older one");
    }
}

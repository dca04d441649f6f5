//! 设备时钟 — where the core reads the time. Every domain time (check-in, answers, findings) and
//! the day certificates are checked against comes from the installation's [`Clock`], so a test or a
//! demo fixes time by handing in a [`FixedClock`].

use std::sync::Mutex;

use chrono::{DateTime, Duration, FixedOffset};

/// The device's wall clock with its UTC offset: records show local time, and the local date is the
/// one certificates and deadlines are checked against.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<FixedOffset>;
}

/// The operating system's clock in the device's time zone.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<FixedOffset> {
        chrono::Local::now().fixed_offset()
    }
}

/// A clock that says what it was set to, for tests and reproducible demos.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<FixedOffset>>);

impl FixedClock {
    pub fn new(at: DateTime<FixedOffset>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<FixedOffset>) {
        *self.lock() = at;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    /// A poisoned lock still holds a valid time; a test that panicked elsewhere must not make the
    /// clock unusable.
    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<FixedOffset>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<FixedOffset> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_reads_what_it_was_set_to_and_advances() {
        let t0 = DateTime::parse_from_rfc3339("2025-03-18T09:30:00+08:00").unwrap();
        let clock = FixedClock::new(t0);
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::minutes(5));
        assert_eq!(clock.now().to_rfc3339(), "2025-03-18T09:35:00+08:00");
    }
}

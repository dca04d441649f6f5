//! 退避 — when to try a failed upload again: exponential backoff with full jitter (AWS
//! Architecture Blog, "Exponential Backoff And Jitter"): a uniformly random delay in
//! `[0, min(cap, base · 2^attempts)]`. The jitter spreads a province's terminals coming back online
//! together, so they do not hit intake in waves.

use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: Duration::from_secs(2), cap: Duration::from_secs(15 * 60) }
    }
}

impl Backoff {
    /// The ceiling of the delay after `attempts` earlier failures.
    pub fn ceiling(&self, attempts: u32) -> Duration {
        let factor = 1u32.checked_shl(attempts.min(30)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A delay drawn uniformly from `[0, ceiling(attempts)]`.
    pub fn delay(&self, attempts: u32) -> Duration {
        let ceiling = self.ceiling(attempts).as_millis() as u64;
        let mut bytes = [0u8; 8];
        // The system RNG failing leaves the bytes zero: no delay, which is still safe.
        let _ = SystemRandom::new().fill(&mut bytes);
        Duration::from_millis(u64::from_le_bytes(bytes) % (ceiling + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_cap() {
        let b = Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(60) };
        let ceilings: Vec<u64> = (0..8).map(|a| b.ceiling(a).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn delays_are_spread_over_the_whole_window() {
        let b = Backoff { base: Duration::from_millis(1000), cap: Duration::from_secs(60) };
        let delays: Vec<Duration> = (0..400).map(|_| b.delay(0)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(1000)));
        // Full jitter: both halves of the window are used, not a fixed delay plus noise.
        assert!(delays.iter().any(|d| *d < Duration::from_millis(250)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(750)));
    }
}

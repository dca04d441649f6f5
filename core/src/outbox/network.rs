//! 网络策略 — what the platform reports about the network, and what may be sent over it. Large
//! videos wait for an unmetered network (Wi-Fi) unless the inspector says otherwise; nothing is
//! attempted offline, so an offline day costs no attempts and no backoff.

/// What the platform reports (Android `ConnectivityManager`, iOS `NWPathMonitor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum NetworkState {
    Offline,
    /// Mobile data or a hotspot: paid per byte.
    Metered,
    Unmetered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NetworkPolicy {
    pub state: NetworkState,
    /// Blobs larger than this wait for an unmetered network.
    pub metered_limit_bytes: u64,
    /// The inspector chose to send large items over mobile data anyway.
    pub allow_large_on_metered: bool,
}

impl NetworkPolicy {
    pub fn new(state: NetworkState) -> Self {
        NetworkPolicy { state, metered_limit_bytes: 50 << 20, allow_large_on_metered: false }
    }

    /// Whether an item of `size` bytes may be sent now.
    pub fn allows(&self, size: u64) -> bool {
        match self.state {
            NetworkState::Offline => false,
            NetworkState::Unmetered => true,
            NetworkState::Metered => self.allow_large_on_metered || size <= self.metered_limit_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_video_waits_for_unmetered_unless_overridden() {
        let big = 200 << 20;
        assert!(!NetworkPolicy::new(NetworkState::Offline).allows(1));
        assert!(NetworkPolicy::new(NetworkState::Metered).allows(2 << 20));
        assert!(!NetworkPolicy::new(NetworkState::Metered).allows(big));
        assert!(NetworkPolicy::new(NetworkState::Unmetered).allows(big));
        let overridden =
            NetworkPolicy { allow_large_on_metered: true, ..NetworkPolicy::new(NetworkState::Metered) };
        assert!(overridden.allows(big));
    }
}

//! Whom the sync client trusts (docs/decisions/0009-sync-tls-trust.md).
//!
//! The core, not the phone's platform verifier, decides: the app hands over the province's CA
//! certificates and the client verifies the server with webpki against exactly those roots
//! (pinning the province's PKI), using the ring provider the rest of the core already uses. The
//! rustls configuration is built here and given to reqwest whole, so reqwest never reaches for
//! rustls-platform-verifier (whose Android half needs JNI set-up) nor for a process-wide crypto
//! provider (which would panic when none is installed, and which a host app may set differently).
//!
//! Plain HTTP exists only for loopback, for development and tests; it is refused for any other
//! host. rustls has no SM2/SM3 cipher suites: the provincial endpoint must offer ECDSA or RSA.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, pem::PemObject};

use super::SyncError;

/// The roots a connection to intake may chain to.
#[derive(Clone)]
pub enum Trust {
    /// 省级 CA — only these certificates are trusted as roots (DER).
    Roots(Vec<CertificateDer<'static>>),
    /// Plain HTTP, allowed only to 127.0.0.0/8, `[::1]` and `localhost`.
    LoopbackPlain,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::Roots(roots) => write!(f, "Trust::Roots({} certificates)", roots.len()),
            Trust::LoopbackPlain => f.write_str("Trust::LoopbackPlain"),
        }
    }
}

impl Trust {
    /// The province's CA certificates from PEM text (one or more `CERTIFICATE` blocks).
    pub fn from_pem(pem: &[u8]) -> Result<Trust, SyncError> {
        let roots = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SyncError::Tls { reason: format!("CA certificates: {e}") })?;
        if roots.is_empty() {
            return Err(SyncError::Tls { reason: "no CERTIFICATE block in the CA file".into() });
        }
        Ok(Trust::Roots(roots))
    }

    /// The rustls configuration for this trust. For [`Trust::LoopbackPlain`] the root store is
    /// empty, so no TLS server at all is trusted.
    pub(crate) fn rustls_config(&self) -> Result<ClientConfig, SyncError> {
        let mut store = RootCertStore::empty();
        if let Trust::Roots(roots) = self {
            for root in roots {
                store
                    .add(root.clone())
                    .map_err(|e| SyncError::Tls { reason: format!("CA certificate refused: {e}") })?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SyncError::Tls { reason: e.to_string() })?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(config)
    }

    /// Refuses a base URL this trust cannot serve: `https` needs roots; `http` only to loopback.
    pub(crate) fn check_url(&self, url: &reqwest::Url) -> Result<(), SyncError> {
        let refused = || SyncError::PlainHttpRefused { url: url.to_string() };
        match (self, url.scheme()) {
            (Trust::Roots(_), "https") => Ok(()),
            (Trust::LoopbackPlain, "http") if is_loopback(url) => Ok(()),
            (Trust::LoopbackPlain, "https") => {
                Err(SyncError::Tls { reason: "https needs the province's CA certificates".into() })
            }
            _ => Err(refused()),
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> reqwest::Url {
        text.parse().unwrap()
    }

    #[test]
    fn plain_http_is_allowed_to_loopback_only() {
        let plain = Trust::LoopbackPlain;
        for ok in ["http://127.0.0.1:8443", "http://127.8.0.1/", "http://[::1]:80", "http://localhost:1"] {
            assert!(plain.check_url(&url(ok)).is_ok(), "{ok}");
        }
        for bad in
            ["http://10.0.0.1", "http://intake.example.gov.cn", "http://128.0.0.1", "https://127.0.0.1"]
        {
            assert!(plain.check_url(&url(bad)).is_err(), "{bad}");
        }
        let pinned = Trust::Roots(vec![]);
        assert!(pinned.check_url(&url("https://intake.example.gov.cn")).is_ok());
        assert!(pinned.check_url(&url("http://intake.example.gov.cn")).is_err());
    }

    #[test]
    fn ca_file_without_a_certificate_is_refused() {
        assert!(matches!(Trust::from_pem(b"not a certificate"), Err(SyncError::Tls { .. })));
    }
}

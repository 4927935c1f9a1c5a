//! Server addresses: `https://` anywhere, plain `http://` only to loopback.

use std::net::IpAddr;

use crate::TlsError;

/// A checked server base address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// The base URL without a trailing `/`, e.g. `https://calls.contoso.com:8443`.
    pub base: String,
    /// Whether it uses TLS.
    pub tls: bool,
    /// The host (a name, an IPv4 address or an IPv6 address without brackets).
    pub host: String,
}

/// Whether `host` is loopback: `localhost` (and `*.localhost`), `127.0.0.0/8` or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = h.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let h = h.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost")
}

/// Checks a server base address: `https://host[:port]`, or `http://host[:port]` where the host
/// is loopback. No path, query, user name or password.
pub fn check_server_url(url: &str) -> Result<ServerUrl, TlsError> {
    let bad = |reason: &str| TlsError::BadUrl {
        url: url.chars().take(200).collect(),
        reason: reason.to_owned(),
    };
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = url::Url::parse(trimmed).map_err(|e| bad(&e.to_string()))?;
    let tls = match parsed.scheme() {
        "https" => true,
        "http" => false,
        _ => {
            return Err(bad(
                "it must start with https:// (or http:// on this computer)",
            ));
        }
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("it must not contain a user name or password"));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad(
            "expected only scheme, host and port, e.g. https://host:8443",
        ));
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(bad("it has no host")),
    };
    if !tls && !is_loopback_host(&host) {
        return Err(TlsError::InsecureUrl { host });
    }
    Ok(ServerUrl {
        base: trimmed.to_owned(),
        tls,
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        let u = check_server_url("https://calls.contoso.com:8443/").unwrap();
        assert!(u.tls);
        assert_eq!(u.base, "https://calls.contoso.com:8443");
        assert_eq!(u.host, "calls.contoso.com");
        for ok in [
            "http://127.0.0.1:7878",
            "http://localhost:1",
            "http://[::1]:7878",
            "http://127.9.9.9",
        ] {
            assert!(!check_server_url(ok).unwrap().tls, "{ok}");
        }
        for refused in [
            "http://10.0.0.1:7878",
            "http://calls.contoso.com",
            "http://[2001:db8::1]:1",
            "http://0.0.0.0:7878",
        ] {
            let e = check_server_url(refused).unwrap_err();
            assert!(matches!(e, TlsError::InsecureUrl { .. }), "{refused}: {e}");
            assert!(e.to_string().contains("https://"), "{e}");
        }
    }

    #[test]
    fn other_shapes_are_refused_with_a_reason() {
        for bad in [
            "",
            "ftp://h",
            "https://",
            "https://u:p@h",
            "https://h/path",
            "https://h?x=1",
            "h:1",
        ] {
            assert!(
                matches!(check_server_url(bad), Err(TlsError::BadUrl { .. })),
                "{bad}"
            );
        }
    }
}

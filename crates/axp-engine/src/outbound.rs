//! The SSRF guard for every outbound URL (push endpoints, webhook subscriptions).
//!
//! Loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved, documentation
//! and IPv4-mapped addresses are refused, both as IP literals in the URL (checked at
//! registration and before each attempt) and as the result of DNS resolution (the resolver drops
//! them, see [`GuardedResolver`]). Operators open ranges deliberately with an allow-list
//! (`AXP_OUTBOUND_ALLOW=127.0.0.0/8,::1/128`). Only `http` and `https` URLs are allowed; the
//! HTTP client uses no proxy and follows no redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a URL may not be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// Not a parseable absolute URL.
    #[error("not a valid URL: {0}")]
    Invalid(String),
    /// Not `http` or `https`.
    #[error("only http and https URLs are allowed, not {0}:")]
    Scheme(String),
    /// The host is an address in a blocked range.
    #[error(
        "{0} is in a blocked address range (loopback, private, link-local, CGNAT, multicast, reserved or IPv4-mapped); allow it with AXP_OUTBOUND_ALLOW"
    )]
    Blocked(IpAddr),
    /// The host name resolves, and every address it resolves to is blocked (checked at
    /// registration, see [`OutboundPolicy::check_registration`]); `ip` is the first of them.
    #[error("{host} resolves only to blocked addresses ({ip}); allow them with AXP_OUTBOUND_ALLOW")]
    ResolvesBlocked {
        /// The host name of the URL.
        host: String,
        /// The first address it resolved to.
        ip: IpAddr,
    },
}

/// Longest [`OutboundPolicy::check_registration`] waits for a host name to resolve.
pub const REGISTRATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Which outbound addresses are allowed. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct OutboundPolicy {
    allow: Arc<Vec<IpNet>>,
}

fn v4_blocked(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18.0.0/15
        || a >= 240 // reserved 240.0.0.0/4
}

fn v6_blocked(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || ip.to_ipv4_mapped().is_some() // IPv4-mapped ::ffff:0:0/96
        || (s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0) // IPv4-translated ::ffff:0:0:0/96
        || (s[..6] == [0; 6]) // IPv4-compatible ::/96
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 and local-use 64:ff9b:1::/48
        || (s[0] == 0x0100 && s[1..4] == [0; 3]) // discard-only 100::/64
        || (s[0] == 0x2002) // 6to4 2002::/16
        || (s[0] == 0x2001 && s[1] == 0x0000) // Teredo 2001::/32 (tunnels to any IPv4 host)
        || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking 2001:2::/48
        || (s[0] == 0x2001 && matches!(s[1] & 0xfff0, 0x0010 | 0x0020)) // ORCHID 2001:10::/28, 2001:20::/28
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || s[0] == 0x5f00 // SRv6 SIDs 5f00::/16
}

/// True for addresses outbound calls must not reach unless allowed explicitly.
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_blocked(v4),
        IpAddr::V6(v6) => v6_blocked(v6),
    }
}

impl OutboundPolicy {
    /// Parses a comma-separated allow-list of CIDRs or single addresses
    /// (`127.0.0.0/8,::1`); empty allows nothing extra.
    pub fn parse(allow: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in allow.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("AXP_OUTBOUND_ALLOW: {item:?} is neither a CIDR nor an IP address"))?;
            nets.push(net);
        }
        Ok(Self { allow: Arc::new(nets) })
    }

    /// Whether `ip` may be called.
    pub fn allows(&self, ip: IpAddr) -> bool {
        !is_blocked(ip) || self.allow.iter().any(|net| net.contains(&ip))
    }

    /// Checks a URL: `http`/`https`, and if its host is an IP literal, an allowed one. The URL
    /// parser normalises decimal, hex and octal IPv4 forms (`http://2130706433/`,
    /// `http://0x7f.1/`) to dotted quads first, so they are caught too. Host names are checked
    /// after resolution by [`GuardedResolver`].
    pub fn check_url(&self, raw: &str) -> Result<Url, OutboundError> {
        let url = Url::parse(raw).map_err(|e| OutboundError::Invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::Scheme(url.scheme().to_owned()));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(OutboundError::Invalid("the URL has no host".into())),
        };
        match ip {
            Some(ip) if !self.allows(ip) => Err(OutboundError::Blocked(ip)),
            _ => Ok(url),
        }
    }

    /// [`OutboundPolicy::check_url`], then, for a host name, one lookup bounded by
    /// [`REGISTRATION_LOOKUP_TIMEOUT`] (2 s): a name that resolves only to blocked addresses is
    /// [`OutboundError::ResolvesBlocked`]. A name that does not resolve (no DNS, NXDOMAIN,
    /// timeout) passes: it is checked again at each delivery by [`GuardedResolver`]. For
    /// registering push endpoints and webhook subscriptions (issue 12).
    pub async fn check_registration(&self, raw: &str) -> Result<Url, OutboundError> {
        let url = self.check_url(raw)?;
        if let Some(url::Host::Domain(host)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(0);
            let lookup = tokio::net::lookup_host((host, port));
            if let Ok(Ok(addrs)) = tokio::time::timeout(REGISTRATION_LOOKUP_TIMEOUT, lookup).await {
                let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                if let Some(&ip) = ips.first()
                    && ips.iter().all(|&ip| !self.allows(ip))
                {
                    return Err(OutboundError::ResolvesBlocked { host: host.to_owned(), ip });
                }
            }
        }
        Ok(url)
    }

    /// A DNS resolver for the HTTP client that drops blocked addresses.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { policy: self.clone() })
    }
}

/// Resolves host names with the system resolver and keeps only allowed addresses; a name
/// that resolves only to blocked addresses fails to resolve.
pub struct GuardedResolver {
    policy: OutboundPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                resolved.iter().copied().filter(|a| policy.allows(a.ip())).collect();
            if allowed.is_empty() {
                let blocked = resolved.first().map_or_else(|| host.clone(), |a| a.ip().to_string());
                return Err(format!(
                    "{host} resolves only to blocked addresses ({blocked}); allow it with AXP_OUTBOUND_ALLOW"
                )
                .into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_literals_in_every_spelling() {
        let policy = OutboundPolicy::default();
        for url in [
            "http://127.0.0.1/hook",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.5/",
            "http://172.16.3.4/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[2001::1]/",
            "http://[::ffff:0:7f00:1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[100::1]/",
            "http://[2001:2::1]/",
            "http://[2001:10::1]/",
            "http://[2001:db8::1]/",
            "http://[3fff::1]/",
            "http://[5f00::1]/",
            "http://[fc00::1]/",
            "http://[fec0::1]/",
            "http://[ff02::1]/",
            "http://[::]/",
            "http://[::7f00:1]/",
            "http://198.18.0.1/",
            "http://240.0.0.1/",
        ] {
            assert!(matches!(policy.check_url(url), Err(OutboundError::Blocked(_))), "{url} must be blocked");
        }
    }

    #[test]
    fn public_addresses_names_and_schemes() {
        let policy = OutboundPolicy::default();
        assert!(policy.check_url("https://93.184.216.34/hook").is_ok());
        assert!(
            policy.check_url("https://hooks.example.com/x").is_ok(),
            "names are checked after resolution"
        );
        assert!(matches!(policy.check_url("ftp://example.com/"), Err(OutboundError::Scheme(_))));
        assert!(matches!(policy.check_url("file:///etc/passwd"), Err(OutboundError::Scheme(_))));
        assert!(matches!(policy.check_url("not a url"), Err(OutboundError::Invalid(_))));
    }

    #[test]
    fn the_allow_list_opens_ranges_deliberately() {
        let policy = OutboundPolicy::parse("127.0.0.0/8, ::1").unwrap();
        assert!(policy.check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(policy.check_url("http://[::1]:8080/hook").is_ok());
        assert!(policy.check_url("http://10.0.0.1/").is_err(), "only what is listed");
        assert!(OutboundPolicy::parse("not-a-cidr").is_err());
    }

    #[tokio::test]
    async fn registration_refuses_names_that_resolve_only_to_blocked_addresses() {
        let policy = OutboundPolicy::default();
        let err = policy.check_registration("http://localhost:9/hook").await.unwrap_err();
        assert!(matches!(err, OutboundError::ResolvesBlocked { .. }), "{err}");
        assert!(
            policy.check_registration("https://integrator.invalid/hook").await.is_ok(),
            "does not resolve"
        );
        assert!(matches!(
            policy.check_registration("http://10.1.2.3/").await,
            Err(OutboundError::Blocked(_))
        ));
        let open = OutboundPolicy::parse("127.0.0.0/8,::1").unwrap();
        assert!(open.check_registration("http://localhost:9/hook").await.is_ok());
    }

    #[tokio::test]
    async fn the_resolver_drops_blocked_addresses() {
        let resolver = OutboundPolicy::default().resolver();
        let err = match resolver.resolve("localhost".parse::<Name>().unwrap()).await {
            Ok(_) => panic!("localhost must not resolve"),
            Err(e) => e,
        };
        assert!(err.to_string().contains("blocked"), "{err}");
        let open = OutboundPolicy::parse("127.0.0.0/8,::1").unwrap().resolver();
        assert!(open.resolve("localhost".parse::<Name>().unwrap()).await.is_ok());
    }
}

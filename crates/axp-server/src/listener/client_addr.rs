//! Who the client is: the TCP peer, or what a trusted proxy says in `X-Forwarded-For`
//! (issue 12, "TLS and proxies").

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client's address, a request extension on every request the listener serves: the TCP
/// peer, unless the peer is a trusted proxy ([`TrustedProxies`]); then the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy. Logs and per-client limits use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The address ranges of the reverse proxies whose `X-Forwarded-For` is believed
/// (`AXP_TRUSTED_PROXIES`). Empty (the default): the header is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs (`10.0.0.0/8`) or single addresses (`::1`).
    /// Errors name the first entry that is neither.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is not a CIDR range or an IP address"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted; then, walking
    /// `X-Forwarded-For` from the right, the first entry not trusted (the left-most one when
    /// all are, the last good one before an unreadable entry).
    pub(crate) fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> ClientAddr {
        let peer = peer.to_canonical();
        if self.0.is_empty() || !self.trusts(peer) {
            return ClientAddr(peer);
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        ClientAddr(client)
    }
}

/// One `X-Forwarded-For` entry: an address, or an address with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(proxies: &str, peer: &str, xff: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for v in xff {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        TrustedProxies::parse(proxies).unwrap().client_addr(peer.parse().unwrap(), &headers).to_string()
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        assert_eq!(client("", "203.0.113.9", &["198.51.100.1"]), "203.0.113.9");
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        assert_eq!(client("10.0.0.0/8", "203.0.113.9", &["198.51.100.1"]), "203.0.113.9");
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        // A client cannot pick its address by sending its own X-Forwarded-For: the proxy appends.
        assert_eq!(client("10.0.0.0/8", "10.0.0.2", &["1.1.1.1, 198.51.100.7, 10.0.0.3"]), "198.51.100.7");
        assert_eq!(client("10.0.0.0/8", "10.0.0.2", &["1.1.1.1", "198.51.100.7"]), "198.51.100.7");
        assert_eq!(client("10.0.0.0/8,::1", "::ffff:10.0.0.2", &["[2001:db8::1]:443"]), "2001:db8::1");
    }

    #[test]
    fn all_trusted_or_unreadable_entries_stop_the_walk() {
        assert_eq!(client("10.0.0.0/8", "10.0.0.2", &["10.1.1.1, 10.2.2.2"]), "10.1.1.1");
        assert_eq!(client("10.0.0.0/8", "10.0.0.2", &["1.1.1.1, garbage, 10.2.2.2"]), "10.2.2.2");
        assert_eq!(client("10.0.0.0/8", "10.0.0.2", &[]), "10.0.0.2");
    }

    #[test]
    fn parse_refuses_junk() {
        assert!(TrustedProxies::parse("10.0.0.0/8, 192.168.1.1 ,fd00::/8").is_ok());
        assert!(TrustedProxies::parse("10.0.0.0/33").unwrap_err().contains("10.0.0.0/33"));
        assert!(TrustedProxies::parse("proxy.local").is_err());
    }
}

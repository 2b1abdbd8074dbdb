//! The client's address: the TCP peer, or, when the peer is a trusted reverse proxy, the
//! address it appended to `X-Forwarded-For`.
//!
//! Only the right-hand end of `X-Forwarded-For` can be trusted: each proxy appends the address
//! it saw, and anything to the left of the last trusted hop was written by the client. So the
//! walk goes right to left, skipping trusted proxies, and stops at the first other address.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The address sign-in throttling and logs attribute a request to; an extension on every
/// request the accept loop serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// One trusted proxy network: `10.0.0.0/8`, `192.168.1.10`, `::1`, `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let s = s.trim();
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or network (e.g. 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.addr), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:10.1.2.3` is `10.1.2.3`: a dual-stack listener reports IPv4 peers that way.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address for a request from `peer` with `headers`.
pub fn client_addr(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> ClientAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let peer_ip = canonical(peer.ip());
    if !is_trusted(peer_ip) {
        return ClientAddr(peer_ip);
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().parse::<IpAddr>().map(canonical))
        .collect::<Result<_, _>>()
        // A malformed list cannot be attributed; fall back to the proxy itself.
        .unwrap_or_default();
    let mut client = peer_ip;
    for hop in hops.iter().rev() {
        client = *hop;
        if !is_trusted(*hop) {
            break;
        }
    }
    ClientAddr(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn networks_parse_and_match() {
        let n = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(n.contains("10.200.1.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(
            IpNet::parse("127.0.0.1")
                .unwrap()
                .contains("127.0.0.1".parse().unwrap())
        );
        assert!(
            !IpNet::parse("127.0.0.1")
                .unwrap()
                .contains("127.0.0.2".parse().unwrap())
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            IpNet::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("nope").is_err());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let peer: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let trusted = [IpNet::parse("10.0.0.0/8").unwrap()];
        assert_eq!(
            client_addr(peer, &headers("1.2.3.4"), &trusted).0,
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn behind_trusted_proxies_the_last_untrusted_hop_is_the_client() {
        let peer: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let trusted = [IpNet::parse("10.0.0.0/8").unwrap()];
        // The client forged the first entry; the proxy appended what it saw.
        let got = client_addr(peer, &headers("6.6.6.6, 198.51.100.7, 10.0.0.5"), &trusted);
        assert_eq!(got.0, "198.51.100.7".parse::<IpAddr>().unwrap());
        // No header: the proxy itself.
        assert_eq!(client_addr(peer, &HeaderMap::new(), &trusted).0, peer.ip());
        // Garbage: the proxy itself, never a value the client chose.
        assert_eq!(
            client_addr(peer, &headers("6.6.6.6, nonsense"), &trusted).0,
            peer.ip()
        );
    }
}

//! The client's IP address, as services see it in `x-client-ip`.
//!
//! Without trusted proxies (`RENTORY_TRUSTED_PROXY_HOPS=0`, the default) it is the TCP peer:
//! `X-Forwarded-For` is whatever the client wrote and is ignored. With `N` proxies in front,
//! each appending the address it received the request from, the `N`-th entry from the right
//! was written by the outermost proxy and is the client; anything further left was written
//! by the client and cannot be trusted. A header too short or unparseable there means the
//! chain is not what was configured, and the peer is used.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address, from the peer and, when `trusted_hops > 0`, `X-Forwarded-For`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_hops: usize) -> IpAddr {
    if trusted_hops == 0 {
        return peer.to_canonical();
    }
    forwarded_client(headers, trusted_hops)
        .unwrap_or(peer)
        .to_canonical()
}

/// The client's address of a request, from its connect info; `None` only when the app is
/// served without connect info (some tests).
pub async fn of_request(parts: &mut Parts, trusted_hops: usize) -> Option<IpAddr> {
    let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, &())
        .await
        .ok()?;
    Some(client_ip(peer.ip(), &parts.headers, trusted_hops))
}

fn forwarded_client(headers: &HeaderMap, trusted_hops: usize) -> Option<IpAddr> {
    // Several X-Forwarded-For headers form one list, in order (RFC 9110 section 5.3).
    let mut entries = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        let value = value.to_str().ok()?;
        entries.extend(value.split(',').map(str::trim));
    }
    let index = entries.len().checked_sub(trusted_hops)?;
    // Every entry our proxies wrote must be well formed, not only the one we take.
    if entries[index..].iter().any(|e| parse_entry(e).is_none()) {
        return None;
    }
    parse_entry(entries[index])
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or
/// `[2001:db8::1]:443`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(X_FORWARDED_FOR, v.parse().expect("header"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    const PEER: &str = "10.0.0.9";

    #[test]
    fn without_trusted_hops_the_peer_wins_whatever_the_header_says() {
        let h = headers(&["203.0.113.7"]);
        assert_eq!(client_ip(ip(PEER), &h, 0), ip(PEER));
    }

    #[test]
    fn one_hop_takes_the_rightmost_entry() {
        let h = headers(&["203.0.113.7"]);
        assert_eq!(client_ip(ip(PEER), &h, 1), ip("203.0.113.7"));
    }

    #[test]
    fn spoofed_entries_on_the_left_never_win() {
        // The client sent "1.1.1.1, 2.2.2.2"; our one proxy appended the real address.
        let h = headers(&["1.1.1.1, 2.2.2.2, 203.0.113.7"]);
        assert_eq!(client_ip(ip(PEER), &h, 1), ip("203.0.113.7"));
        // Two proxies: the outer one wrote the client, the inner one wrote the outer one.
        let h = headers(&["1.1.1.1, 203.0.113.7, 198.51.100.2"]);
        assert_eq!(client_ip(ip(PEER), &h, 2), ip("203.0.113.7"));
        // A separate spoofed header line comes first and is likewise ignored.
        let h = headers(&["6.6.6.6", "203.0.113.7"]);
        assert_eq!(client_ip(ip(PEER), &h, 1), ip("203.0.113.7"));
    }

    #[test]
    fn malformed_or_short_chains_fall_back_to_the_peer() {
        for values in [
            &[][..],
            &[""],
            &["not-an-ip"],
            &["203.0.113.7, garbage"],
            &["203.0.113.7,"],
            &["unknown"],
        ] {
            assert_eq!(
                client_ip(ip(PEER), &headers(values), 1),
                ip(PEER),
                "{values:?}"
            );
        }
        // Fewer entries than configured proxies.
        assert_eq!(client_ip(ip(PEER), &headers(&["203.0.113.7"]), 2), ip(PEER));
        // A bad entry among the ones our proxies wrote.
        let h = headers(&["203.0.113.7, junk"]);
        assert_eq!(client_ip(ip(PEER), &h, 2), ip(PEER));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let h = headers(&["203.0.113.7:5555"]);
        assert_eq!(client_ip(ip(PEER), &h, 1), ip("203.0.113.7"));
        let h = headers(&["[2001:db8::1]:443"]);
        assert_eq!(client_ip(ip(PEER), &h, 1), ip("2001:db8::1"));
        let h = headers(&["2001:db8::2"]);
        assert_eq!(client_ip(ip(PEER), &h, 1), ip("2001:db8::2"));
        assert_eq!(
            client_ip(ip("::ffff:192.0.2.1"), &HeaderMap::new(), 0),
            ip("192.0.2.1")
        );
    }
}

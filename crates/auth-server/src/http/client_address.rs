//! Where a request came from, for the per-address brute-force limits (docs/security.md, item 17).

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;

/// The connection's peer, or, when this server sits behind a load balancer it trusts, the last
/// `X-Forwarded-For` entry: the one that balancer appended. Earlier entries are whatever the client
/// wrote and are never believed.
pub fn client_address(request: &HttpRequest, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .last()
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|entry| parse_entry(entry.trim()));
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request.peer_addr().map(|peer| peer.ip())
}

/// An address, with or without a port (`203.0.113.9`, `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn peer() -> SocketAddr {
        "192.0.2.1:5000".parse().unwrap()
    }

    #[test]
    fn the_peer_unless_a_balancer_is_trusted() {
        let request = TestRequest::default()
            .peer_addr(peer())
            .insert_header(("X-Forwarded-For", "10.9.9.9"))
            .to_http_request();
        assert_eq!(
            client_address(&request, false),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            client_address(&request, true),
            Some("10.9.9.9".parse().unwrap())
        );
    }

    #[test]
    fn only_the_entry_the_balancer_appended_counts() {
        let request = TestRequest::default()
            .peer_addr(peer())
            .insert_header(("X-Forwarded-For", "6.6.6.6, 198.51.100.4"))
            .to_http_request();
        assert_eq!(
            client_address(&request, true),
            Some("198.51.100.4".parse().unwrap())
        );
        let with_port = TestRequest::default()
            .peer_addr(peer())
            .insert_header(("X-Forwarded-For", "[2001:db8::7]:443"))
            .to_http_request();
        assert_eq!(
            client_address(&with_port, true),
            Some("2001:db8::7".parse().unwrap())
        );
    }

    #[test]
    fn a_garbled_header_falls_back_to_the_peer() {
        let request = TestRequest::default()
            .peer_addr(peer())
            .insert_header(("X-Forwarded-For", "not an address"))
            .to_http_request();
        assert_eq!(
            client_address(&request, true),
            Some("192.0.2.1".parse().unwrap())
        );
    }
}

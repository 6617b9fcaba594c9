//! Which callback targets may be reached.
//!
//! With `--block-private-targets`, loopback, private, link-local (including the
//! cloud metadata address), CGNAT and unspecified addresses are refused. The
//! check runs on the resolved addresses at connect time (a resolver that drops
//! them), not on the URL's text, so a public name pointing at 127.0.0.1 is
//! refused too. IP-literal hosts never reach a resolver and are checked before
//! sending.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether an address is one `--block-private-targets` refuses.
pub(crate) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => is_private_v6(v6),
        },
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || a == 0
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
}

/// A resolver that drops private addresses and fails when none are left.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| !is_private(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(
                    format!("target {host} resolves only to private addresses (blocked)").into(),
                );
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Checks an IP-literal host before sending (names are checked by the resolver).
pub(crate) fn check_literal_host(url: &url::Url) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if is_private(ip) {
        Err(format!(
            "target address {ip} is private (blocked by --block-private-targets)"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn literal_hosts_are_checked() {
        let blocked = url::Url::parse("http://127.0.0.1:9/hook").unwrap();
        assert!(check_literal_host(&blocked).is_err());
        let named = url::Url::parse("http://localhost:9/hook").unwrap();
        assert!(
            check_literal_host(&named).is_ok(),
            "names go through the resolver"
        );
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_private_addresses() {
        let result = PublicOnlyResolver
            .resolve("localhost".parse().unwrap())
            .await;
        let error = result.err().expect("localhost is refused");
        assert!(error.to_string().contains("private"), "{error}");
    }
}

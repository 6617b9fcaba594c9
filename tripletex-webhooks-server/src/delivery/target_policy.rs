//! Which callback targets may be reached, and how.
//!
//! With `--block-private-targets`, every address that is not globally
//! reachable is refused: the ranges of the IANA IPv4 and IPv6 special-purpose
//! address registries, multicast, and every IPv6 address outside global
//! unicast `2000::/3`. IPv6 addresses that carry an IPv4 address (IPv4-mapped,
//! NAT64 `64:ff9b::/96`, 6to4) are judged by the IPv4 address they carry.
//!
//! The check runs on the resolved addresses at connect time (a resolver that
//! drops them), not on the URL's text, so a public name pointing at 127.0.0.1
//! is refused too. IP-literal hosts never reach a resolver and are checked
//! before sending. Callbacks never use a proxy from the environment: a proxy
//! resolves and connects to the target itself, out of the check's reach.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Where callbacks may go, and how they get there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum TargetPolicy {
    /// Direct connections to any address (local receivers are on loopback).
    #[default]
    Any,
    /// Direct connections to globally reachable addresses only (`--block-private-targets`).
    PublicOnly,
    /// Through this proxy (`--callback-proxy`), which reaches the target itself.
    Proxy(ProxyUrl),
}

/// The URL of a callback proxy: `http` or `https`, with a host. `Debug`
/// hides its credentials.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ProxyUrl(url::Url);

impl ProxyUrl {
    /// Checks a `--callback-proxy` value; the error never repeats it, since it
    /// may hold credentials.
    pub(crate) fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw)
            .map_err(|error| format!("the proxy must be an absolute URL ({error})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the proxy must be an http:// or https:// URL".to_owned());
        }
        Ok(Self(url))
    }

    /// The URL, credentials included.
    pub(crate) fn url(&self) -> &url::Url {
        &self.0
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.0.host_str().unwrap_or_default();
        let port = self
            .0
            .port_or_known_default()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        write!(f, "ProxyUrl({}://{host}{port})", self.0.scheme())
    }
}

/// One range of the table: a prefix and the registry's name for it.
struct Range<A> {
    prefix: A,
    len: u8,
    name: &'static str,
}

/// IPv4 addresses that are not globally reachable.
const IPV4_BLOCKED: &[Range<Ipv4Addr>] = &[
    v4(0, 0, 0, 0, 8, "\"this network\""),
    v4(10, 0, 0, 0, 8, "private-use"),
    v4(100, 64, 0, 0, 10, "shared address space (CGNAT)"),
    v4(127, 0, 0, 0, 8, "loopback"),
    v4(169, 254, 0, 0, 16, "link-local, cloud metadata"),
    v4(172, 16, 0, 0, 12, "private-use"),
    // Whole: the two anycast addresses in it (.9, .10) are no webhook receivers.
    v4(192, 0, 0, 0, 24, "IETF protocol assignments"),
    v4(192, 0, 2, 0, 24, "documentation (TEST-NET-1)"),
    v4(192, 88, 99, 0, 24, "6to4 relay anycast (deprecated)"),
    v4(192, 168, 0, 0, 16, "private-use"),
    v4(198, 18, 0, 0, 15, "benchmarking"),
    v4(198, 51, 100, 0, 24, "documentation (TEST-NET-2)"),
    v4(203, 0, 113, 0, 24, "documentation (TEST-NET-3)"),
    v4(224, 0, 0, 0, 4, "multicast"),
    v4(255, 255, 255, 255, 32, "limited broadcast"),
    v4(240, 0, 0, 0, 4, "reserved"),
];

/// What an IPv6 range means for the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V6Rule {
    /// Refused whatever the address.
    Blocked,
    /// Judged by the IPv4 address in the last 32 bits.
    EmbedsLast32,
    /// Judged by the IPv4 address in bits 16 to 47 (6to4).
    Embeds6to4,
}

use V6Rule::{Blocked, Embeds6to4, EmbedsLast32};

/// An IPv6 range and how addresses in it are judged.
struct V6Range {
    range: Range<Ipv6Addr>,
    rule: V6Rule,
}

/// IPv6 ranges, the first match deciding: specific entries come before the
/// larger ones that contain them, so a refusal names the specific range.
const IPV6_RANGES: &[V6Range] = &[
    v6(EmbedsLast32, &[0, 0, 0, 0, 0, 0xffff], 96, "IPv4-mapped"),
    v6(EmbedsLast32, &[0x64, 0xff9b], 96, "NAT64 translation"),
    v6(Blocked, &[0x64, 0xff9b, 1], 48, "local-use NAT64"),
    v6(Blocked, &[], 128, "unspecified"),
    v6(Blocked, &[0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback"),
    // Deprecated (RFC 4291) and never routed, whatever IPv4 address it carries.
    v6(Blocked, &[], 96, "IPv4-compatible (deprecated)"),
    v6(Blocked, &[0x100], 64, "discard-only"),
    v6(Blocked, &[0x100, 0, 0, 1], 64, "dummy prefix"),
    v6(Blocked, &[0x2001], 32, "Teredo"),
    v6(Blocked, &[0x2001, 2], 48, "benchmarking"),
    v6(Blocked, &[0x2001, 0x10], 28, "ORCHID (deprecated)"),
    // Whole: its globally reachable entries are anycast services and
    // identifiers, no webhook receivers.
    v6(Blocked, &[0x2001], 23, "IETF protocol assignments"),
    v6(Blocked, &[0x2001, 0xdb8], 32, "documentation"),
    v6(Embeds6to4, &[0x2002], 16, "6to4"),
    v6(Blocked, &[0x3fff], 20, "documentation"),
    v6(Blocked, &[0x5f00], 16, "segment routing (SRv6) SIDs"),
    v6(Blocked, &[0xfc00], 7, "unique-local"),
    v6(Blocked, &[0xfe80], 10, "link-local"),
    v6(Blocked, &[0xfec0], 10, "site-local (deprecated)"),
    v6(Blocked, &[0xff00], 8, "multicast"),
    // Everything outside global unicast 2000::/3 is reserved or local.
    v6(Blocked, &[], 3, "outside global unicast"),
    v6(Blocked, &[0x4000], 2, "outside global unicast"),
    v6(Blocked, &[0x8000], 1, "outside global unicast"),
];

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8, name: &'static str) -> Range<Ipv4Addr> {
    Range {
        prefix: Ipv4Addr::new(a, b, c, d),
        len,
        name,
    }
}

/// A range whose prefix starts with the segments `head` (the rest zero).
const fn v6(rule: V6Rule, head: &[u16], len: u8, name: &'static str) -> V6Range {
    let mut s = [0_u16; 8];
    let mut at = 0;
    while at < head.len() {
        s[at] = head[at];
        at += 1;
    }
    V6Range {
        range: Range {
            prefix: Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
            len,
            name,
        },
        rule,
    }
}

impl Range<Ipv4Addr> {
    fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
        (ip.to_bits() ^ self.prefix.to_bits()) & mask == 0
    }
}

impl Range<Ipv6Addr> {
    fn contains(&self, ip: Ipv6Addr) -> bool {
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.len))
            .unwrap_or(0);
        (ip.to_bits() ^ self.prefix.to_bits()) & mask == 0
    }
}

/// Why an address is refused: the range it is in, and the IPv4 address it
/// carries when that is what was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    prefix: IpAddr,
    len: u8,
    name: &'static str,
    embedded: Option<Ipv4Addr>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v4) = self.embedded {
            write!(f, "carries {v4}, ")?;
        }
        write!(f, "in {}/{} ({})", self.prefix, self.len, self.name)
    }
}

/// Why `--block-private-targets` refuses `ip`; `None` when it is globally reachable.
pub(crate) fn refusal(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4, None),
        IpAddr::V6(v6) => {
            let V6Range { range, rule } =
                IPV6_RANGES.iter().find(|entry| entry.range.contains(v6))?;
            let octets = v6.octets();
            match rule {
                Blocked => Some(Refusal {
                    prefix: IpAddr::V6(range.prefix),
                    len: range.len,
                    name: range.name,
                    embedded: None,
                }),
                EmbedsLast32 => {
                    let [.., a, b, c, d] = octets;
                    let carried = Ipv4Addr::new(a, b, c, d);
                    refusal_v4(carried, Some(carried))
                }
                Embeds6to4 => {
                    let carried = Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]);
                    refusal_v4(carried, Some(carried))
                }
            }
        }
    }
}

fn refusal_v4(ip: Ipv4Addr, embedded: Option<Ipv4Addr>) -> Option<Refusal> {
    let range = IPV4_BLOCKED.iter().find(|range| range.contains(ip))?;
    Some(Refusal {
        prefix: IpAddr::V4(range.prefix),
        len: range.len,
        name: range.name,
        embedded,
    })
}

/// A target refused by `--block-private-targets`, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BlockedTarget(pub(crate) String);

/// A resolver that drops refused addresses and fails when none are left.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            // `localhost.` is `localhost` written absolute; not every system
            // resolver knows it, and a refusal says more than a lookup failure.
            let lookup = host.strip_suffix('.').unwrap_or(&host);
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((lookup, 0)).await?.collect();
            let first_refused = resolved
                .iter()
                .find_map(|a| refusal(a.ip()).map(|why| (a.ip(), why)));
            let public: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| refusal(a.ip()).is_none())
                .collect();
            if public.is_empty() {
                let detail = first_refused
                    .map(|(ip, why)| format!(" such as {ip}, {why}"))
                    .unwrap_or_default();
                let blocked = BlockedTarget(format!(
                    "target {host} resolves only to private or special-purpose addresses{detail}: blocked by --block-private-targets"
                ));
                return Err(blocked.into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Checks an IP-literal host before sending (names are checked by the resolver).
pub(crate) fn check_literal_host(url: &url::Url) -> Result<(), BlockedTarget> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    match refusal(ip) {
        Some(why) => Err(BlockedTarget(format!(
            "target address {ip} is private or special-purpose, {why}: blocked by --block-private-targets"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses and URLs, in several spellings, and whether they are refused.
    const CASES: &[(&str, bool)] = &[
        // IPv4 special-purpose ranges, at their edges.
        ("0.0.0.0", true),
        ("0.255.255.255", true),
        ("10.0.0.1", true),
        ("10.255.255.255", true),
        ("100.64.0.1", true),
        ("100.127.255.255", true),
        ("127.0.0.1", true),
        ("127.255.255.254", true),
        ("169.254.169.254", true),
        ("172.16.0.1", true),
        ("172.31.255.255", true),
        ("192.0.0.1", true),
        ("192.0.0.9", true),
        ("192.0.0.170", true),
        ("192.0.2.1", true),
        ("192.88.99.1", true),
        ("192.168.1.1", true),
        ("198.18.0.1", true),
        ("198.19.255.255", true),
        ("198.51.100.7", true),
        ("203.0.113.9", true),
        ("224.0.0.1", true),
        ("239.255.255.250", true),
        ("240.0.0.1", true),
        ("255.255.255.255", true),
        // Public IPv4, just outside the ranges.
        ("1.1.1.1", false),
        ("8.8.8.8", false),
        ("93.184.216.34", false),
        ("11.0.0.1", false),
        ("100.63.255.255", false),
        ("100.128.0.1", false),
        ("126.255.255.255", false),
        ("128.0.0.1", false),
        ("169.253.255.255", false),
        ("172.15.255.255", false),
        ("172.32.0.1", false),
        ("192.0.1.1", false),
        ("192.31.196.1", false),
        ("192.169.0.1", false),
        ("192.175.48.1", false),
        ("198.17.255.255", false),
        ("198.20.0.1", false),
        ("223.255.255.255", false),
        // IPv6 special-purpose ranges.
        ("::", true),
        ("::1", true),
        ("0:0:0:0:0:0:0:1", true),
        ("::ffff:127.0.0.1", true),
        ("::ffff:7f00:1", true),
        ("::FFFF:7F00:0001", true),
        ("::ffff:10.0.0.1", true),
        ("::ffff:169.254.169.254", true),
        ("::127.0.0.1", true),
        ("::8.8.8.8", true),
        ("::ffff:0:7f00:1", true),
        ("64:ff9b::7f00:1", true),
        ("64:ff9b::127.0.0.1", true),
        ("64:FF9B::A9FE:A9FE", true),
        ("64:ff9b:1::808:808", true),
        ("100::1", true),
        ("100:0:0:1::1", true),
        ("2001::1", true),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", true),
        ("2001:2::1", true),
        ("2001:10::1", true),
        ("2001:1::1", true),
        ("2001:1ff::1", true),
        ("2001:db8::1", true),
        ("2001:DB8:0:0:0:0:0:1", true),
        ("2002:7f00:1::", true),
        ("2002:c0a8:101::1", true),
        ("2002:a00:1::", true),
        ("3fff::1", true),
        ("5f00::1", true),
        ("fc00::1", true),
        ("fd12:3456:789a::1", true),
        ("fe80::1", true),
        ("FEBF::1", true),
        ("fec0::1", true),
        ("feff::1", true),
        ("ff02::1", true),
        ("ff0e::1", true),
        ("1000::1", true),
        ("4000::1", true),
        ("e000::1", true),
        // Public IPv6, including public IPv4 carried in IPv6.
        ("2606:4700::1111", false),
        ("2606:4700:0:0:0:0:0:1111", false),
        ("2a00:1450:4001::1", false),
        ("2001:4860:4860::8888", false),
        ("2001:200::1", false),
        ("2620:4f:8000::1", false),
        ("2c0f:fb50::1", false),
        ("::ffff:8.8.8.8", false),
        ("::ffff:808:808", false),
        ("64:ff9b::808:808", false),
        ("64:ff9b::8.8.8.8", false),
        ("2002:808:808::1", false),
        // URL literals: the WHATWG spellings of IPv4 hosts, and bracketed IPv6.
        ("http://127.0.0.1:8080/hook", true),
        ("http://2130706433/", true),
        ("http://0x7f.0.0.1/", true),
        ("http://0177.0.0.1/", true),
        ("http://127.1/", true),
        ("http://0/", true),
        ("http://0x7F000001:9/", true),
        ("http://[::1]:8080/", true),
        ("http://[::ffff:127.0.0.1]:8080/", true),
        ("http://[::ffff:7f00:1]:8080/", true),
        ("http://[0:0:0:0:0:FFFF:7F00:0001]/", true),
        ("http://[64:ff9b::7f00:1]:8080/", true),
        ("http://[::127.0.0.1]/", true),
        ("http://[2002:7f00:1::]/", true),
        ("http://[fe80::1]/", true),
        ("http://[FEC0::1]/", true),
        ("https://8.8.8.8/hook", false),
        ("http://134744072/", false),
        ("http://[2606:4700::1111]:443/", false),
        ("http://[::ffff:8.8.8.8]/", false),
        ("http://[64:ff9b::808:808]/", false),
        // Names are the resolver's to judge, not the literal check's.
        ("http://localhost:8080/", false),
        ("http://example.com/", false),
    ];

    fn refused(text: &str) -> bool {
        if text.starts_with("http") {
            let url = url::Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            check_literal_host(&url).is_err()
        } else {
            let ip: IpAddr = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            refusal(ip).is_some()
        }
    }

    #[test]
    fn the_table_refuses_every_special_purpose_address_in_any_spelling() {
        assert!(CASES.len() >= 60, "{} cases", CASES.len());
        let wrong: Vec<String> = CASES
            .iter()
            .filter(|(text, expected)| refused(text) != *expected)
            .map(|(text, expected)| format!("{text}: expected refused={expected}"))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn prefixes_are_network_addresses() {
        for range in IPV4_BLOCKED {
            let mask = u32::MAX.checked_shl(32 - u32::from(range.len)).unwrap_or(0);
            assert_eq!(range.prefix.to_bits() & !mask, 0, "{}", range.prefix);
        }
        for V6Range { range, .. } in IPV6_RANGES {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(range.len))
                .unwrap_or(0);
            assert_eq!(range.prefix.to_bits() & !mask, 0, "{}", range.prefix);
        }
    }

    #[test]
    fn refusals_name_the_range_and_the_carried_address() {
        let why = |text: &str| refusal(text.parse().unwrap()).unwrap().to_string();
        assert_eq!(why("127.0.0.1"), "in 127.0.0.0/8 (loopback)");
        assert_eq!(
            why("64:ff9b::a9fe:a9fe"),
            "carries 169.254.169.254, in 169.254.0.0/16 (link-local, cloud metadata)"
        );
        assert_eq!(why("2001::1"), "in 2001::/32 (Teredo)");
        assert_eq!(why("2001:db8::1"), "in 2001:db8::/32 (documentation)");
        assert_eq!(why("fec0::1"), "in fec0::/10 (site-local (deprecated))");
    }

    #[test]
    fn literal_hosts_are_checked() {
        let blocked = url::Url::parse("http://[::ffff:7f00:1]:9/hook").unwrap();
        let error = check_literal_host(&blocked).unwrap_err();
        assert_eq!(
            error.to_string(),
            "target address ::ffff:127.0.0.1 is private or special-purpose, carries 127.0.0.1, in 127.0.0.0/8 (loopback): blocked by --block-private-targets"
        );
    }

    #[test]
    fn proxy_urls_are_checked_and_their_credentials_never_shown() {
        let proxy = ProxyUrl::parse("http://user:hunter22@proxy.internal:3128").unwrap();
        assert_eq!(format!("{proxy:?}"), "ProxyUrl(http://proxy.internal:3128)");
        assert_eq!(proxy.url().password(), Some("hunter22"));
        for bad in [
            "proxy.internal:3128",
            "hunter22:x@proxy.internal",
            "socks5://u:hunter22@proxy.internal:1080",
            "http://",
        ] {
            let error = ProxyUrl::parse(bad).unwrap_err();
            assert!(
                !error.contains("hunter22") && !error.contains("proxy.internal"),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_private_addresses() {
        for name in ["localhost", "localhost."] {
            let result = PublicOnlyResolver.resolve(name.parse().unwrap()).await;
            let error = result.err().expect("localhost is refused").to_string();
            assert!(
                error.contains("blocked by --block-private-targets"),
                "{error}"
            );
            assert!(error.contains("(loopback)"), "{error}");
        }
    }
}

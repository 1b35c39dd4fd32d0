//! Which rate window a client address counts against.
//!
//! An IPv4 address is one client: addresses are scarce, and a host rarely holds more than one.
//! An IPv6 host usually holds a whole `/64` (SLAAC, privacy addresses, a cloud instance's
//! delegated prefix) and may pick a fresh address for every request, so counting IPv6 per
//! address would give one person a new window per request, and with it the environment's whole
//! daily budget. IPv6 addresses are therefore counted by their network: the first
//! [`Ipv6Prefix`] bits (`/64` unless the environment says otherwise). An IPv4-mapped IPv6
//! address (`::ffff:198.51.100.7`, as a dual-stack socket writes an IPv4 peer) is the IPv4
//! client it maps, so one client cannot get two windows by switching notation.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// How many leading bits of an IPv6 address name one client: 1 to 128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Prefix(u8);

impl Ipv6Prefix {
    /// `/64`, see [`chatbot_contract::DEFAULT_IPV6_PREFIX_LENGTH`].
    pub const DEFAULT: Ipv6Prefix = Ipv6Prefix(chatbot_contract::DEFAULT_IPV6_PREFIX_LENGTH);

    /// A prefix of `bits` bits, or `None` outside 1..=128.
    pub fn new(bits: u8) -> Option<Ipv6Prefix> {
        (1..=128).contains(&bits).then_some(Ipv6Prefix(bits))
    }

    pub fn bits(self) -> u8 {
        self.0
    }
}

impl Default for Ipv6Prefix {
    fn default() -> Self {
        Ipv6Prefix::DEFAULT
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.0)
    }
}

/// The rate-limit key of `ip`: `198.51.100.7` for an IPv4 address (mapped or not), and the
/// network in CIDR form for any other IPv6 address, `2001:db8:1:2::/64`.
pub fn key(ip: IpAddr, prefix: Ipv6Prefix) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("{}{prefix}", network(v6, prefix)),
        },
    }
}

/// `ip` with every bit after the first `prefix` bits cleared.
fn network(ip: Ipv6Addr, prefix: Ipv6Prefix) -> Ipv6Addr {
    let mask = u128::MAX << (128 - u32::from(prefix.bits()));
    Ipv6Addr::from(u128::from(ip) & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ip: &str, bits: u8, expect: &str) {
        let prefix = Ipv6Prefix::new(bits).unwrap();
        assert_eq!(key(ip.parse().unwrap(), prefix), expect, "{ip} {prefix}");
    }

    #[test]
    fn ipv4_counts_per_address() {
        check("198.51.100.7", 64, "198.51.100.7");
        check("198.51.100.8", 1, "198.51.100.8");
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_ipv4_address() {
        check("::ffff:198.51.100.7", 64, "198.51.100.7");
        check("::ffff:c633:6407", 128, "198.51.100.7");
    }

    #[test]
    fn ipv6_counts_per_network() {
        check("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64");
        check("2001:db8:1:2::1", 64, "2001:db8:1:2::/64");
        check("2001:db8:1:3::1", 64, "2001:db8:1:3::/64");
        check("2001:db8:1:2:aaaa::1", 56, "2001:db8:1::/56");
        check("2001:db8:1:2:aaaa::1", 48, "2001:db8:1::/48");
        check("2001:db8::1", 128, "2001:db8::1/128");
        check("2001:db8::1", 1, "::/1");
        check("fe80::1", 1, "8000::/1");
        check("::1", 64, "::/64");
    }

    #[test]
    fn prefix_lengths_outside_1_to_128_are_refused() {
        assert_eq!(Ipv6Prefix::new(0), None);
        assert_eq!(Ipv6Prefix::new(129), None);
        assert_eq!(Ipv6Prefix::new(1).map(Ipv6Prefix::bits), Some(1));
        assert_eq!(Ipv6Prefix::new(128).map(Ipv6Prefix::bits), Some(128));
        assert_eq!(Ipv6Prefix::default().to_string(), "/64");
    }
}

//! The SSRF guard: a notification URL is typed in by a person, so before
//! Cairn sends anything it resolves the host itself and refuses addresses
//! inside the network it runs in (loopback, private ranges, the cloud
//! metadata service) unless an admin allowlisted them. The send then
//! connects to exactly the checked addresses, so a DNS answer that changes
//! between check and connect (rebinding) cannot reach anything else.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use url::{Host, Url};

use super::OutboundError;

/// An IP network in CIDR notation, e.g. `10.1.0.0/16` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this network. IPv4-mapped IPv6 addresses
    /// (`::ffff:10.0.0.1`) count as the IPv4 address they carry.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

/// Whether the first `prefix` bits of `a` and `b` are equal.
fn mask_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[full] & mask == b[full] & mask
}

impl FromStr for Cidr {
    type Err = OutboundError;

    /// Parses `address/prefix`; a bare address is a single host (`/32` or
    /// `/128`). Bits set after the prefix are refused rather than silently
    /// dropped, so `10.1.2.3/8` is not mistaken for a single host.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let entry = input.trim();
        let invalid = |reason: String| OutboundError::InvalidCidr {
            entry: entry.to_owned(),
            reason,
        };
        let (addr_text, prefix_text) = match entry.split_once('/') {
            Some((a, p)) => (a.trim(), Some(p.trim())),
            None => (entry, None),
        };
        if addr_text.is_empty() {
            return Err(invalid("an address is needed before the `/`".into()));
        }
        let network: IpAddr = addr_text
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| invalid(format!("`{addr_text}` is not an IPv4 or IPv6 address")))?;
        let bits: u8 = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => bits,
            Some(p) => p.parse::<u8>().map_err(|_| {
                invalid(format!(
                    "the prefix length `{p}` is not a number from 0 to {bits}"
                ))
            })?,
        };
        if prefix > bits {
            let family = if network.is_ipv4() { "IPv4" } else { "IPv6" };
            return Err(invalid(format!(
                "the prefix length /{prefix} is longer than the {bits} bits of an {family} address"
            )));
        }
        let masked = mask(network, prefix);
        if masked != network {
            return Err(invalid(format!(
                "bits are set after the /{prefix} prefix: write {masked}/{prefix} for the network, or {network}/{bits} for one address"
            )));
        }
        Ok(Cidr { network, prefix })
    }
}

/// `ip` with every bit after `prefix` cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    fn clear(octets: &mut [u8], prefix: u8) {
        for (i, byte) in octets.iter_mut().enumerate() {
            let start = (i * 8) as u32;
            let keep = u32::from(prefix).saturating_sub(start).min(8);
            *byte &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
        }
    }
    match ip {
        IpAddr::V4(v4) => {
            let mut o = v4.octets();
            clear(&mut o, prefix);
            IpAddr::V4(Ipv4Addr::from(o))
        }
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            clear(&mut o, prefix);
            IpAddr::V6(Ipv6Addr::from(o))
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Why an address is refused as a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// `127.0.0.0/8`, `::1`: this machine.
    Loopback,
    /// `0.0.0.0/8`, `::`: "this host"; connecting to it reaches this machine.
    Unspecified,
    /// `169.254.0.0/16` (incl. the cloud metadata service 169.254.169.254),
    /// `fe80::/10`.
    LinkLocal,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `fec0::/10`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    SharedAddressSpace,
    /// `fc00::/7`.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`.
    Documentation,
    /// Other special-purpose ranges: `192.0.0.0/24`, `198.18.0.0/15`
    /// (benchmarking), `240.0.0.0/4`, `100::/64`, Teredo `2001::/32`,
    /// local-use NAT64 `64:ff9b:1::/48`.
    Reserved,
}

impl Refusal {
    /// The kind of address, with its article: "a link-local address".
    pub fn describe(self) -> &'static str {
        match self {
            Refusal::Loopback => "a loopback address",
            Refusal::Unspecified => "an unspecified address",
            Refusal::LinkLocal => "a link-local address",
            Refusal::Private => "a private address",
            Refusal::SharedAddressSpace => "a carrier-grade NAT (shared) address",
            Refusal::UniqueLocal => "a unique-local address",
            Refusal::Multicast => "a multicast address",
            Refusal::Broadcast => "a broadcast address",
            Refusal::Documentation => "a documentation address",
            Refusal::Reserved => "a reserved address",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why `ip` must not be a destination, or `None` for a public address.
/// IPv6 addresses that carry an IPv4 address (mapped `::ffff:a.b.c.d`,
/// compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are
/// judged by that IPv4 address, so none of them is a way around the rules.
pub fn refusal(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => refusal_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    mask_eq(&ip.octets(), &net, prefix)
}

fn refusal_v4(ip: Ipv4Addr) -> Option<Refusal> {
    let table: [([u8; 4], u8, Refusal); 16] = [
        ([0, 0, 0, 0], 8, Refusal::Unspecified),
        ([10, 0, 0, 0], 8, Refusal::Private),
        ([100, 64, 0, 0], 10, Refusal::SharedAddressSpace),
        ([127, 0, 0, 0], 8, Refusal::Loopback),
        ([169, 254, 0, 0], 16, Refusal::LinkLocal),
        ([172, 16, 0, 0], 12, Refusal::Private),
        ([192, 0, 0, 0], 24, Refusal::Reserved),
        ([192, 0, 2, 0], 24, Refusal::Documentation),
        ([192, 88, 99, 0], 24, Refusal::Reserved),
        ([192, 168, 0, 0], 16, Refusal::Private),
        ([198, 18, 0, 0], 15, Refusal::Reserved),
        ([198, 51, 100, 0], 24, Refusal::Documentation),
        ([203, 0, 113, 0], 24, Refusal::Documentation),
        ([224, 0, 0, 0], 4, Refusal::Multicast),
        ([255, 255, 255, 255], 32, Refusal::Broadcast),
        ([240, 0, 0, 0], 4, Refusal::Reserved),
    ];
    table
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, why)| *why)
}

fn refusal_v6(ip: Ipv6Addr) -> Option<Refusal> {
    if ip.is_unspecified() {
        return Some(Refusal::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Refusal::Loopback);
    }
    if let Some(v4) = embedded_v4(ip) {
        return refusal_v4(v4);
    }
    let s = ip.segments();
    let o = ip.octets();
    let in_v6 = |net: [u8; 16], prefix: u8| mask_eq(&o, &net, prefix);
    let v6 = |segments: [u16; 8]| Ipv6Addr::from(segments).octets();
    if s[0] & 0xffc0 == 0xfe80 {
        Some(Refusal::LinkLocal)
    } else if s[0] & 0xffc0 == 0xfec0 {
        Some(Refusal::Private)
    } else if s[0] & 0xfe00 == 0xfc00 {
        Some(Refusal::UniqueLocal)
    } else if s[0] & 0xff00 == 0xff00 {
        Some(Refusal::Multicast)
    } else if in_v6(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32) {
        Some(Refusal::Documentation)
    } else if in_v6(v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64)
        || in_v6(v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32)
        || in_v6(v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]), 48)
    {
        Some(Refusal::Reserved)
    } else {
        None
    }
}

/// The IPv4 address an IPv6 address stands for, if it carries one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    // ::ffff:a.b.c.d (mapped)
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    // ::a.b.c.d (compatible, deprecated); :: and ::1 are handled before.
    if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
        return Some(low);
    }
    // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    // 2002:aabb:ccdd::/48 (6to4)
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Which internal addresses notifications may still reach: the networks an
/// admin allowlisted (e.g. a chat server on the office network). Empty by
/// default: every internal address is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    pub allow: Vec<Cidr>,
}

impl DestinationPolicy {
    /// Parses allowlist entries such as `127.0.0.0/8`, `::1/128`,
    /// `10.1.2.3/32`; the error names the first bad entry and why.
    pub fn parse<I, S>(entries: I) -> Result<DestinationPolicy, OutboundError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let allow = entries
            .into_iter()
            .filter(|e| !e.as_ref().trim().is_empty())
            .map(|e| e.as_ref().parse())
            .collect::<Result<Vec<Cidr>, _>>()?;
        Ok(DestinationPolicy { allow })
    }

    /// Whether an admin allowlisted `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(ip))
    }

    /// Why `ip` is refused under this policy, or `None` when it may be used.
    pub fn check(&self, ip: IpAddr) -> Option<Refusal> {
        let why = refusal(ip)?;
        (!self.allows(ip)).then_some(why)
    }
}

/// The host and port a URL connects to, refusing schemes other than http
/// and https.
pub(crate) fn target(url: &Url) -> Result<(Host<&str>, u16), OutboundError> {
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(OutboundError::UnsupportedScheme {
            scheme: scheme.to_owned(),
        });
    }
    let host = url.host().ok_or(OutboundError::MissingHost)?;
    if let Host::Domain(domain) = host {
        check_domain(domain)?;
    }
    let port = url
        .port_or_known_default()
        .ok_or(OutboundError::MissingHost)?;
    Ok((host, port))
}

/// Longest host name DNS carries, and longest label.
const MAX_HOST: usize = 253;
const MAX_LABEL: usize = 63;

/// Refuses host names DNS cannot carry: empty, over-long, or with empty or
/// over-long labels.
fn check_domain(domain: &str) -> Result<(), OutboundError> {
    let bad = |reason: String| Err(OutboundError::BadHost { reason });
    let name = domain.strip_suffix('.').unwrap_or(domain);
    if name.is_empty() {
        return bad("the host name is empty".to_owned());
    }
    if name.len() > MAX_HOST {
        return bad(format!(
            "the host name is longer than {MAX_HOST} characters"
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return bad("the host name has an empty label (`..`)".to_owned());
        }
        if label.len() > MAX_LABEL {
            return bad(format!(
                "a label of the host name is longer than {MAX_LABEL} characters"
            ));
        }
    }
    Ok(())
}

/// Whether a host name means this machine whatever DNS says: `localhost`
/// and every name under it (RFC 6761), with or without the final dot.
pub fn is_localhost_name(domain: &str) -> bool {
    let name = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Resolves the URL's host and checks every address against `policy`.
/// Refuses when any address is internal and not allowlisted, so a name
/// with one public and one private address cannot be used to reach the
/// private one. IP literals are checked without a lookup.
pub async fn resolve_checked(
    url: &Url,
    policy: &DestinationPolicy,
) -> Result<Vec<SocketAddr>, OutboundError> {
    let (host, port) = target(url)?;
    let (name, addrs): (String, Vec<SocketAddr>) = match host {
        Host::Ipv4(ip) => (ip.to_string(), vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Host::Ipv6(ip) => (ip.to_string(), vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        // Loopback without asking DNS, which might not know the name (and
        // so let it through at create) or answer something else.
        Host::Domain(domain) if is_localhost_name(domain) => (
            domain.to_owned(),
            vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
            ],
        ),
        Host::Domain(domain) => {
            let found =
                tokio::net::lookup_host((domain, port))
                    .await
                    .map_err(|e| OutboundError::Dns {
                        host: domain.to_owned(),
                        reason: e.to_string(),
                    })?;
            let mut addrs: Vec<SocketAddr> = Vec::new();
            for addr in found {
                if !addrs.contains(&addr) {
                    addrs.push(addr);
                }
            }
            (domain.to_owned(), addrs)
        }
    };
    if addrs.is_empty() {
        return Err(OutboundError::NoAddresses { host: name });
    }
    for addr in &addrs {
        if let Some(reason) = policy.check(addr.ip()) {
            return Err(OutboundError::Refused {
                host: name,
                addr: addr.ip(),
                reason,
            });
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let net: Cidr = "127.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("127.1.2.3")));
        assert!(!net.contains(ip("128.0.0.1")));
        assert!(net.contains(ip("::ffff:127.0.0.1")), "mapped counts as v4");
        assert!(!net.contains(ip("::1")));

        let one: Cidr = "10.1.2.3/32".parse().unwrap();
        assert!(one.contains(ip("10.1.2.3")));
        assert!(!one.contains(ip("10.1.2.4")));

        let v6: Cidr = "::1/128".parse().unwrap();
        assert!(v6.contains(ip("::1")));
        assert_eq!(v6.to_string(), "::1/128");

        let odd: Cidr = "172.16.0.0/12".parse().unwrap();
        assert!(odd.contains(ip("172.31.255.255")));
        assert!(!odd.contains(ip("172.32.0.0")));

        let bare: Cidr = " 192.168.1.10 ".parse().unwrap();
        assert_eq!(bare.prefix(), 32);
        assert_eq!(bare.network(), ip("192.168.1.10"));

        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        let bracketed: Cidr = "[fd00::]/8".parse().unwrap();
        assert!(bracketed.contains(ip("fd12::1")));
    }

    #[test]
    fn bad_cidrs_say_what_is_wrong() {
        let msg = |s: &str| s.parse::<Cidr>().unwrap_err().to_string();
        assert!(
            msg("10.0.0.0/33").contains("longer than the 32 bits"),
            "{}",
            msg("10.0.0.0/33")
        );
        assert!(msg("::/129").contains("128 bits of an IPv6"));
        assert!(msg("10.0.0.0/x").contains("not a number from 0 to 32"));
        assert!(msg("example.com/8").contains("not an IPv4 or IPv6 address"));
        assert!(msg("/8").contains("an address is needed"));
        let m = msg("10.1.2.3/8");
        assert!(
            m.contains("10.0.0.0/8") && m.contains("10.1.2.3/32"),
            "suggests both readings: {m}"
        );
        assert!(m.starts_with("`10.1.2.3/8` is not a valid CIDR"), "{m}");
    }

    #[test]
    fn internal_addresses_are_refused_with_the_reason() {
        let cases = [
            ("127.0.0.1", Refusal::Loopback),
            ("127.255.0.9", Refusal::Loopback),
            ("::1", Refusal::Loopback),
            ("0.0.0.0", Refusal::Unspecified),
            ("0.1.2.3", Refusal::Unspecified),
            ("::", Refusal::Unspecified),
            ("169.254.169.254", Refusal::LinkLocal),
            ("fe80::1", Refusal::LinkLocal),
            ("10.0.0.1", Refusal::Private),
            ("172.16.0.1", Refusal::Private),
            ("172.31.255.254", Refusal::Private),
            ("192.168.1.1", Refusal::Private),
            ("100.64.0.1", Refusal::SharedAddressSpace),
            ("100.127.255.254", Refusal::SharedAddressSpace),
            ("fc00::1", Refusal::UniqueLocal),
            ("fd12:3456::1", Refusal::UniqueLocal),
            ("224.0.0.1", Refusal::Multicast),
            ("ff02::1", Refusal::Multicast),
            ("255.255.255.255", Refusal::Broadcast),
            ("192.0.2.10", Refusal::Documentation),
            ("2001:db8::1", Refusal::Documentation),
            ("240.0.0.1", Refusal::Reserved),
            ("198.18.0.1", Refusal::Reserved),
            // IPv6 forms of IPv4 addresses are judged as the IPv4 address.
            ("::ffff:127.0.0.1", Refusal::Loopback),
            ("::ffff:169.254.169.254", Refusal::LinkLocal),
            ("::10.0.0.1", Refusal::Private),
            ("64:ff9b::a9fe:a9fe", Refusal::LinkLocal),
            ("2002:7f00:1::1", Refusal::Loopback),
            ("2002:c0a8:101::", Refusal::Private),
        ];
        for (addr, why) in cases {
            assert_eq!(refusal(ip(addr)), Some(why), "{addr}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.1",
            "169.253.1.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
            "64:ff9b::808:808",
        ] {
            assert_eq!(refusal(ip(addr)), None, "{addr}");
        }
    }

    #[test]
    fn the_allowlist_lets_listed_networks_through_only() {
        let policy = DestinationPolicy::parse(["127.0.0.0/8", "", "fd00::/8"]).unwrap();
        assert_eq!(policy.check(ip("127.0.0.1")), None);
        assert_eq!(policy.check(ip("::ffff:127.0.0.1")), None);
        assert_eq!(policy.check(ip("fd00::5")), None);
        assert_eq!(policy.check(ip("::1")), Some(Refusal::Loopback));
        assert_eq!(policy.check(ip("10.0.0.1")), Some(Refusal::Private));
        assert_eq!(policy.check(ip("8.8.8.8")), None);
        assert!(DestinationPolicy::parse(["127.0.0.0/8", "nonsense"]).is_err());
        assert_eq!(
            DestinationPolicy::default().check(ip("127.0.0.1")),
            Some(Refusal::Loopback)
        );
    }

    #[tokio::test]
    async fn literals_are_checked_without_a_lookup_and_schemes_are_limited() {
        let policy = DestinationPolicy::default();
        let err = resolve_checked(
            &Url::parse("http://169.254.169.254/latest").unwrap(),
            &policy,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "169.254.169.254 is a link-local address; an admin can allowlist it"
        );
        let err = resolve_checked(&Url::parse("ftp://example.com/").unwrap(), &policy)
            .await
            .unwrap_err();
        assert!(
            matches!(err, OutboundError::UnsupportedScheme { .. }),
            "{err}"
        );
        // Odd spellings of 127.0.0.1 are normalised by the URL parser first.
        for odd in ["http://0x7f.1/", "http://2130706433/", "http://127.1/"] {
            let err = resolve_checked(&Url::parse(odd).unwrap(), &policy)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    OutboundError::Refused {
                        reason: Refusal::Loopback,
                        ..
                    }
                ),
                "{odd}: {err}"
            );
        }
        // Names of this machine, whatever DNS says.
        for name in [
            "http://localhost/x",
            "http://localhost./x",
            "http://LOCALHOST/x",
            "http://a.b.localhost/x",
            "http://x.localhost./x",
        ] {
            let err = resolve_checked(&Url::parse(name).unwrap(), &policy)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    OutboundError::Refused {
                        reason: Refusal::Loopback,
                        ..
                    }
                ),
                "{name}: {err}"
            );
        }
        let loopback = DestinationPolicy::parse(["127.0.0.0/8", "::1/128"]).unwrap();
        assert!(
            resolve_checked(&Url::parse("http://localhost:9/x").unwrap(), &loopback)
                .await
                .is_ok(),
            "allowlisted loopback lets localhost through"
        );
        // Host names DNS cannot carry.
        let long_label = format!("http://{}.example/", "a".repeat(64));
        let long_host = format!("http://{}example/", "abcdefghi.".repeat(26));
        for bad in [long_label.as_str(), long_host.as_str()] {
            let err = target(&Url::parse(bad).unwrap()).unwrap_err();
            assert!(matches!(err, OutboundError::BadHost { .. }), "{bad}: {err}");
        }
        let ok = resolve_checked(&Url::parse("https://8.8.8.8/hook").unwrap(), &policy)
            .await
            .unwrap();
        assert_eq!(ok, vec!["8.8.8.8:443".parse::<SocketAddr>().unwrap()]);
    }
}

//! Where the system may send a request that a tenant can influence (a Mastodon instance, a Bluesky
//! service, a competitor's server): which addresses are off limits, what a saved URL must look
//! like, and the normalized origin credentials are bound to. Pure rules; the guarded HTTP client
//! (`crate::outbound`) applies them to the address it actually connects to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Whether requests may go to loopback and private addresses. Off in production; on for the
/// tests and the local fakes (`PALINSESTO_ALLOW_PRIVATE_NETWORKS=1`, `serve
/// --allow-private-networks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboundPolicy {
    pub allow_private_networks: bool,
}

/// The environment variable that allows private networks in every process that reads it.
pub const ALLOW_PRIVATE_NETWORKS_VAR: &str = "PALINSESTO_ALLOW_PRIVATE_NETWORKS";

impl OutboundPolicy {
    pub const PUBLIC_ONLY: Self = Self {
        allow_private_networks: false,
    };
    pub const PRIVATE_ALLOWED: Self = Self {
        allow_private_networks: true,
    };

    /// `PALINSESTO_ALLOW_PRIVATE_NETWORKS=1` (or `true`) allows private networks; anything else,
    /// or nothing, keeps them refused.
    pub fn from_env() -> Self {
        let allowed = std::env::var(ALLOW_PRIVATE_NETWORKS_VAR)
            .map(|v| matches!(v.trim(), "1" | "true" | "yes"))
            .unwrap_or(false);
        Self {
            allow_private_networks: allowed,
        }
    }

    /// Why a connection to `ip` is refused, or `None` when it may go ahead.
    pub fn refusal(self, ip: IpAddr) -> Option<&'static str> {
        match classify(ip) {
            AddressClass::Public => None,
            // Cloud metadata lives here: never a legitimate target, whatever the deployment says.
            AddressClass::Refused(why @ "a link-local address") => Some(why),
            AddressClass::Refused(_) if self.allow_private_networks => None,
            AddressClass::Refused(why) => Some(why),
        }
    }

    /// Checks the form of a URL a person saves (no network access): the target rules below, and
    /// no query or fragment. Where a name leads is checked when the system connects. Returns
    /// the parsed URL.
    pub fn check_url(self, raw: &str) -> Result<Url, String> {
        let url = Url::parse(raw.trim()).map_err(|_| format!("{raw:?} is not an absolute URL"))?;
        self.check_target(&url)
            .map_err(|why| format!("{raw:?} {why}"))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{raw:?} must not have a query or fragment"));
        }
        Ok(url)
    }

    /// Checks a URL about to be requested, before any connection: https (plain http only where
    /// private networks are allowed), no user info, and no host that is plainly off limits (an
    /// IP literal in a refused range, `localhost`). The reason completes "the URL ...".
    pub fn check_target(self, url: &Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private_networks => {}
            "http" => {
                return Err(
                    "must use https (plain http is allowed only for private test networks)".into(),
                );
            }
            _ => return Err("must be an https URL".into()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password".into());
        }
        let refused = match url.host() {
            None => return Err("has no host".into()),
            Some(Host::Ipv4(ip)) => self.refusal(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.refusal(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.');
                let local = name == "localhost" || name.ends_with(".localhost");
                (local && !self.allow_private_networks).then_some("a loopback address")
            }
        };
        match refused {
            Some(why) => Err(format!(
                "points at {why}, which Palinsesto never connects to"
            )),
            None => Ok(()),
        }
    }
}

/// What kind of address an IP is, for outbound requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// Not reachable from the public internet, or not a unicast host at all: the reason in words.
    Refused(&'static str),
}

/// Classifies an address. Everything that is not plainly a public unicast host is refused,
/// including every IPv6 form that embeds an IPv4 address (mapped, compatible, NAT64, 6to4,
/// Teredo): the embedded address could be anything, and no network we call needs them.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    let why = if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_link_local() {
        "a link-local address"
    } else if ip.is_private() {
        "a private address"
    } else if a == 100 && (b & 0b1100_0000) == 64 {
        "a carrier-grade NAT address"
    } else if a == 0 {
        "an unspecified address"
    } else if a == 192 && b == 0 && c == 0 {
        "an IETF protocol address"
    } else if a == 198 && (b & 0xfe) == 18 {
        "a benchmarking address"
    } else if ip.is_documentation() {
        "a documentation address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if a >= 240 {
        "a reserved or broadcast address"
    } else {
        return AddressClass::Public;
    };
    AddressClass::Refused(why)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    let why = if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() {
        "an unspecified address"
    } else if (s[0] & 0xffc0) == 0xfe80 {
        "a link-local address"
    } else if (s[0] & 0xffc0) == 0xfec0 || (s[0] & 0xfe00) == 0xfc00 {
        "a private address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible).
        "an IPv6 address that embeds an IPv4 address"
    } else if s[0] == 0x64 && s[1] == 0xff9b {
        // 64:ff9b::/96 and 64:ff9b:1::/48.
        "a NAT64 address"
    } else if s[0] == 0x2002 {
        "a 6to4 address"
    } else if s[0] == 0x2001 && s[1] == 0 {
        "a Teredo address"
    } else if s[0] == 0x2001 && s[1] == 0xdb8 {
        "a documentation address"
    } else if s[0] == 0x0100 && s[1..4] == [0; 3] {
        "a discard-only address"
    } else {
        return AddressClass::Public;
    };
    AddressClass::Refused(why)
}

/// The origin credentials are bound to: scheme, host (IDNA-normalized, lower case, no trailing
/// dot) and port (the scheme's default made explicit). Two URLs with equal endpoints reach the
/// same server; any difference is another server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    pub fn of(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|_| format!("{raw:?} is not an absolute URL"))?;
        Self::of_url(&url).ok_or_else(|| format!("{raw:?} has no host"))
    }

    pub fn of_url(url: &Url) -> Option<Self> {
        // The url crate already applies IDNA (UTS 46) and lower-cases domain names.
        let host = match url.host()? {
            Host::Domain(name) => name.trim_end_matches('.').to_owned(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => format!("[{ip}]"),
        };
        let port = url.port_or_known_default()?;
        Some(Self(format!("{}://{host}:{port}", url.scheme())))
    }

    /// As stored beside credentials.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> bool {
        matches!(classify(raw.parse().unwrap()), AddressClass::Refused(_))
    }

    #[test]
    fn refuses_every_non_public_range() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "192.0.0.8",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
            "2001:db8::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn lets_public_addresses_through() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "198.20.0.1",
            "2a01:4f8::1",
            "2606:4700::1111",
        ] {
            assert!(!refused(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn private_networks_open_only_when_allowed_and_never_link_local() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        assert!(OutboundPolicy::PUBLIC_ONLY.refusal(loopback).is_some());
        assert!(OutboundPolicy::PRIVATE_ALLOWED.refusal(loopback).is_none());
        assert!(OutboundPolicy::PRIVATE_ALLOWED.refusal(metadata).is_some());
    }

    #[test]
    fn url_form_check() {
        let public = OutboundPolicy::PUBLIC_ONLY;
        assert!(public.check_url("https://mastodon.social").is_ok());
        for bad in [
            "http://mastodon.social",
            "ftp://mastodon.social",
            "https://user:pw@mastodon.social",
            "https://mastodon.social/?a=1",
            "https://127.0.0.1",
            "https://[::1]",
            "https://2130706433",
            "https://0x7f.1",
            "https://169.254.169.254",
            "https://[::ffff:127.0.0.1]",
            "https://localhost:8443",
            "https://api.localhost.",
            "not a url",
        ] {
            assert!(public.check_url(bad).is_err(), "{bad} should be refused");
        }
        let private = OutboundPolicy::PRIVATE_ALLOWED;
        assert!(private.check_url("http://127.0.0.1:8080").is_ok());
        assert!(private.check_url("http://169.254.169.254").is_err());
    }

    #[test]
    fn endpoints_normalize_case_idna_trailing_dot_and_default_port() {
        let e = |s: &str| Endpoint::of(s).unwrap();
        assert_eq!(
            e("https://Mastodon.Social./"),
            e("https://mastodon.social:443")
        );
        assert_eq!(
            e("https://mastodon.social").as_str(),
            "https://mastodon.social:443"
        );
        assert_eq!(
            e("https://BÜCHER.example"),
            e("https://xn--bcher-kva.example")
        );
        assert_ne!(e("https://mastodon.social"), e("http://mastodon.social"));
        assert_ne!(
            e("https://mastodon.social"),
            e("https://mastodon.social:8443")
        );
        assert_ne!(e("https://mastodon.social"), e("https://evil.example"));
        assert_eq!(e("http://127.0.0.1:9/api").as_str(), "http://127.0.0.1:9");
    }
}

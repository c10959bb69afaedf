//! Named channels: a UTF-8 name mapped to an IPv6 multicast address and a
//! port, the same way in every language and by other implementations
//! (docs/PROTOCOL.md, "Channels", has the rule and test vectors):
//!
//! - `d = SHA-256("mcast-channel-v1\0" || utf8(name))`
//! - any-source (ASM) address: bytes `ff, 0x10 | scope, d[0..14]`
//! - source-specific (SSM, RFC 4607) address: bytes `ff, 0x30 | scope`, ten
//!   zero bytes, then the 32-bit big-endian group id `d[0..4] | 0x80000000`
//! - port: `49152 + (u16 big-endian of d[14..16]) % 16384`

use std::net::Ipv6Addr;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::{Error, Group, Result};

/// IPv6 multicast scopes a channel can have (RFC 7346).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// 2: the local link.
    Link,
    /// 5: the site.
    Site,
    /// 8: the organisation.
    Organization,
    /// e: global (the default).
    #[default]
    Global,
}

impl Scope {
    /// The scope's nibble in the address.
    pub fn nibble(self) -> u8 {
        match self {
            Scope::Link => 0x2,
            Scope::Site => 0x5,
            Scope::Organization => 0x8,
            Scope::Global => 0xe,
        }
    }
}

impl FromStr for Scope {
    type Err = Error;
    /// `link`, `site`, `org` (or `organization`), `global`.
    fn from_str(s: &str) -> Result<Scope> {
        match s {
            "link" => Ok(Scope::Link),
            "site" => Ok(Scope::Site),
            "org" | "organization" | "organisation" => Ok(Scope::Organization),
            "global" => Ok(Scope::Global),
            _ => Err(Error::InvalidArgument(format!("unknown scope {s:?} (link, site, org or global)"))),
        }
    }
}

/// The address and port of channel `name` (`ssm`: a source-specific
/// address, for receivers that name their sources).
pub fn channel_address(name: &str, scope: Scope, ssm: bool) -> Result<(Ipv6Addr, u16)> {
    if name.is_empty() {
        return Err(Error::InvalidArgument("a channel name cannot be empty".into()));
    }
    let mut h = Sha256::new();
    h.update(b"mcast-channel-v1\0");
    h.update(name.as_bytes());
    let d: [u8; 32] = h.finalize().into();
    let mut a = [0u8; 16];
    a[0] = 0xff;
    if ssm {
        a[1] = 0x30 | scope.nibble();
        let gid = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) | 0x8000_0000;
        a[12..16].copy_from_slice(&gid.to_be_bytes());
    } else {
        a[1] = 0x10 | scope.nibble();
        a[2..16].copy_from_slice(&d[0..14]);
    }
    let port = 49152 + u16::from_be_bytes([d[14], d[15]]) % 16384;
    Ok((Ipv6Addr::from(a), port))
}

impl Group {
    /// The group of channel `name` (global scope, any-source) on `interface`.
    pub fn channel(name: &str, interface: &str) -> Result<Group> {
        Group::channel_with(name, Scope::Global, false, interface)
    }

    /// The group of channel `name` with a scope, any-source or source-specific.
    pub fn channel_with(name: &str, scope: Scope, ssm: bool, interface: &str) -> Result<Group> {
        let (addr, port) = channel_address(name, scope, ssm)?;
        Group::new(addr, port, interface)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of docs/PROTOCOL.md (computed independently with Python's
    /// hashlib).
    #[test]
    fn documented_vectors() {
        let v = |n, s, ssm| {
            let (a, p) = channel_address(n, s, ssm).unwrap();
            (a.to_string(), p)
        };
        assert_eq!(v("news", Scope::Global, false), ("ff1e:ed75:5737:908e:e779:efa7:6800:c7c3".into(), 53117));
        assert_eq!(v("news", Scope::Global, true), ("ff3e::ed75:5737".into(), 53117));
        assert_eq!(v("news", Scope::Link, false), ("ff12:ed75:5737:908e:e779:efa7:6800:c7c3".into(), 53117));
        assert_eq!(v("news", Scope::Site, true), ("ff35::ed75:5737".into(), 53117));
        assert_eq!(v("sensor/42", Scope::Global, false), ("ff1e:411:977f:7741:5e1:bd8:86e:313b".into(), 61661));
        assert_eq!(v("sensor/42", Scope::Global, true), ("ff3e::8411:977f".into(), 61661));
        assert_eq!(v("Grüße ☃", Scope::Global, false), ("ff1e:c75f:d652:f9be:c1aa:1f53:5856:6f3c".into(), 50305));
        assert_eq!(v("Grüße ☃", Scope::Organization, true), ("ff38::c75f:d652".into(), 50305));
        assert!(channel_address("", Scope::Global, false).is_err());
    }

    #[test]
    fn every_channel_is_a_valid_group() {
        for i in 0..2000 {
            for ssm in [false, true] {
                let g = Group::channel_with(&format!("ch{i}"), Scope::Site, ssm, "eth0").unwrap();
                assert!(g.addr().is_multicast() && (49152..65536).contains(&(g.port() as u32)));
                assert_eq!(g.addr().octets()[1] & 0x0f, 5);
            }
        }
        assert_eq!("org".parse::<Scope>().unwrap(), Scope::Organization);
        assert!("planet".parse::<Scope>().is_err());
    }
}

//! chronyd addresses: a Unix socket path, a UDP socket address, or a host
//! name resolved like `chronyc -h`.

use crate::error::{Error, Result};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// chronyd's default command port.
pub const DEFAULT_PORT: u16 = 323;

/// sockaddr_un holds 108 bytes with the NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Where chronyd is.
///
/// Parsed from text with [`Address::parse`] or [`str::parse`], or built from
/// a [`SocketAddr`], an [`IpAddr`], a [`Path`] or a [`PathBuf`]:
///
/// ```
/// use chrony::Address;
/// use std::net::SocketAddr;
/// use std::path::Path;
///
/// let udp: Address = "127.0.0.1:5323".parse()?;
/// assert_eq!(udp, Address::from("127.0.0.1:5323".parse::<SocketAddr>().unwrap()));
/// let unix = Address::from(Path::new("/run/chrony/chronyd.sock"));
/// assert_eq!(unix.to_string(), "/run/chrony/chronyd.sock");
/// let host: Address = "ntp1.example.net".parse()?;
/// assert_eq!(host.to_string(), "ntp1.example.net:323");
/// # Ok::<(), chrony::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// An absolute path to chronyd's Unix command socket.
    Unix(PathBuf),
    /// chronyd's UDP command port.
    Udp(SocketAddr),
    /// A host name and port, resolved when connecting; every address it
    /// resolves to is tried in order, as `chronyc -h` does.
    Host {
        /// The name.
        host: String,
        /// The UDP port.
        port: u16,
    },
}

impl Address {
    /// Parses `/abs/path.sock`, `IPv4`, `IPv4:port`, `IPv6`, `[IPv6]`,
    /// `[IPv6]:port`, `host` or `host:port` (port 323 when omitted).
    ///
    /// ```
    /// use chrony::Address;
    /// assert_eq!(Address::parse("127.0.0.1")?, Address::Udp("127.0.0.1:323".parse().unwrap()));
    /// assert_eq!(Address::parse("[::1]:5323")?, Address::Udp("[::1]:5323".parse().unwrap()));
    /// assert_eq!(Address::parse("::1")?, Address::Udp("[::1]:323".parse().unwrap()));
    /// assert!(matches!(Address::parse("/run/chrony/chronyd.sock")?, Address::Unix(_)));
    /// assert!(matches!(Address::parse("localhost:5323")?, Address::Host { port: 5323, .. }));
    /// assert!(Address::parse("chronyd.sock").is_err());
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidAddress`].
    pub fn parse(address: &str) -> Result<Address> {
        let invalid = |reason| Error::InvalidAddress {
            address: address.to_string(),
            reason,
        };
        if address.is_empty() {
            return Err(invalid("empty"));
        }
        if address.contains('\0') {
            return Err(invalid("contains a NUL byte"));
        }
        if address.starts_with('/') {
            return Address::unix(PathBuf::from(address))
                .map_err(|_| invalid("socket path longer than 107 bytes"));
        }
        if let Ok(sa) = address.parse::<SocketAddr>() {
            return Ok(Address::Udp(sa));
        }
        if let Ok(ip) = address.parse::<IpAddr>() {
            return Ok(Address::Udp(SocketAddr::new(ip, DEFAULT_PORT)));
        }
        if let Some(inner) = address.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
            if let Ok(ip) = inner.parse::<Ipv6Addr>() {
                return Ok(Address::Udp(SocketAddr::new(IpAddr::V6(ip), DEFAULT_PORT)));
            }
        }
        if address.contains('/') || address.ends_with(".sock") {
            return Err(invalid("a Unix socket path must be absolute"));
        }
        let (host, port) = match address.rsplit_once(':') {
            Some((h, p)) => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| invalid("the port is not a number in 0..=65535"))?;
                (h, port)
            }
            None => (address, DEFAULT_PORT),
        };
        let valid_name = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && !host.starts_with(['-', '.']);
        if !valid_name {
            return Err(invalid(
                "expected an absolute socket path, IPv4[:port], [IPv6]:port or host[:port]",
            ));
        }
        Ok(Address::Host {
            host: host.to_string(),
            port,
        })
    }

    fn unix(path: PathBuf) -> std::result::Result<Address, PathBuf> {
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(path);
        }
        Ok(Address::Unix(path))
    }

    /// The transport this address uses.
    pub fn transport(&self) -> crate::engine::Transport {
        match self {
            Address::Unix(_) => crate::engine::Transport::Unix,
            Address::Udp(_) | Address::Host { .. } => crate::engine::Transport::Udp,
        }
    }

    /// The concrete addresses to try, in order: a host name is resolved
    /// (with the system resolver; this may block).
    ///
    /// # Errors
    /// [`Error::Resolve`] when a host name does not resolve.
    pub(crate) fn resolve(&self) -> Result<Vec<Address>> {
        match self {
            Address::Host { host, port } => {
                let found =
                    (host.as_str(), *port)
                        .to_socket_addrs()
                        .map_err(|source| Error::Resolve {
                            host: host.clone(),
                            source,
                        })?;
                Address::resolved(host, found)
            }
            other => Ok(vec![other.clone()]),
        }
    }

    /// The addresses a host name resolved to, without duplicates.
    pub(crate) fn resolved(
        host: &str,
        found: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<Address>> {
        let mut out: Vec<Address> = Vec::new();
        for sa in found {
            let a = Address::Udp(sa);
            if !out.contains(&a) {
                out.push(a);
            }
        }
        if out.is_empty() {
            return Err(Error::Resolve {
                host: host.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
            });
        }
        Ok(out)
    }

    /// The form libchrony's `chrony_open_socket` takes.
    pub(crate) fn to_libchrony(&self) -> String {
        match self {
            Address::Unix(p) => p.to_string_lossy().into_owned(),
            Address::Udp(SocketAddr::V4(a)) => format!("{}:{}", a.ip(), a.port()),
            Address::Udp(SocketAddr::V6(a)) => format!("[{}]:{}", a.ip(), a.port()),
            Address::Host { host, port } => format!("{host}:{port}"),
        }
    }
}

impl Address {
    /// The address back from its `Display` text (which
    /// [`Address::parse`] reads as it was; a path that is not UTF-8, shown
    /// lossily, is kept as that path).
    pub(crate) fn from_shown(shown: &str) -> Address {
        Address::parse(shown).unwrap_or_else(|_| Address::Unix(PathBuf::from(shown)))
    }
}

/// With `serde`, an address is its text (`/run/chrony/chronyd.sock`,
/// `127.0.0.1:323`, `[::1]:323`, `host:323`), read back with
/// [`Address::parse`].
#[cfg(feature = "serde")]
impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Address::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.to_libchrony())
    }
}

impl FromStr for Address {
    type Err = Error;

    fn from_str(s: &str) -> Result<Address> {
        Address::parse(s)
    }
}

impl From<SocketAddr> for Address {
    fn from(sa: SocketAddr) -> Address {
        Address::Udp(sa)
    }
}

impl From<IpAddr> for Address {
    /// The address on chronyd's default port 323.
    fn from(ip: IpAddr) -> Address {
        Address::Udp(SocketAddr::new(ip, DEFAULT_PORT))
    }
}

impl From<&Path> for Address {
    /// A Unix socket path (checked when connecting).
    fn from(p: &Path) -> Address {
        Address::Unix(p.to_path_buf())
    }
}

impl From<PathBuf> for Address {
    /// A Unix socket path (checked when connecting).
    fn from(p: PathBuf) -> Address {
        Address::Unix(p)
    }
}

/// Anything [`Client::connect`](crate::Client::connect) takes: text (parsed
/// with [`Address::parse`]), an [`Address`], a [`SocketAddr`], an
/// [`IpAddr`], a [`Path`] or a [`PathBuf`].
pub trait ToAddress {
    /// The address.
    ///
    /// # Errors
    /// [`Error::InvalidAddress`] for text that does not parse.
    fn to_address(&self) -> Result<Address>;
}

impl ToAddress for str {
    fn to_address(&self) -> Result<Address> {
        Address::parse(self)
    }
}
impl ToAddress for String {
    fn to_address(&self) -> Result<Address> {
        Address::parse(self)
    }
}
impl ToAddress for Address {
    fn to_address(&self) -> Result<Address> {
        Ok(self.clone())
    }
}
impl ToAddress for SocketAddr {
    fn to_address(&self) -> Result<Address> {
        Ok(Address::from(*self))
    }
}
impl ToAddress for IpAddr {
    fn to_address(&self) -> Result<Address> {
        Ok(Address::from(*self))
    }
}
impl ToAddress for Path {
    fn to_address(&self) -> Result<Address> {
        Ok(Address::from(self))
    }
}
impl ToAddress for PathBuf {
    fn to_address(&self) -> Result<Address> {
        Ok(Address::from(self.as_path()))
    }
}
impl<T: ToAddress + ?Sized> ToAddress for &T {
    fn to_address(&self) -> Result<Address> {
        (**self).to_address()
    }
}

/// Checks an address before any I/O: a Unix path must be absolute and fit
/// a socket address, and contain no NUL.
pub(crate) fn validate(address: &Address) -> Result<()> {
    if let Address::Unix(p) = address {
        let shown = p.to_string_lossy().into_owned();
        let invalid = |reason| Error::InvalidAddress {
            address: shown.clone(),
            reason,
        };
        if !p.is_absolute() {
            return Err(invalid("a Unix socket path must be absolute"));
        }
        if p.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(invalid("socket path longer than 107 bytes"));
        }
        if shown.contains('\0') {
            return Err(invalid("contains a NUL byte"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_back_as_the_same_address() {
        for a in [
            "/run/chrony/chronyd.sock",
            "127.0.0.1:5323",
            "[2001:db8::1]:323",
            "ntp1.example.net:4323",
        ] {
            let address = Address::parse(a).unwrap();
            assert_eq!(Address::from_shown(&address.to_string()), address, "{a}");
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_as_text() {
        let a = Address::parse("[::1]:5323").unwrap();
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#""[::1]:5323""#);
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
        assert!(serde_json::from_str::<Address>(r#""relative.sock""#).is_err());
    }

    #[test]
    fn parses() {
        assert_eq!(
            Address::parse("10.1.2.3:99").unwrap().to_libchrony(),
            "10.1.2.3:99"
        );
        assert_eq!(
            Address::parse("fe80::1").unwrap().to_libchrony(),
            "[fe80::1]:323"
        );
        assert_eq!(Address::parse("[::1]").unwrap().to_libchrony(), "[::1]:323");
        assert_eq!(
            Address::parse("localhost").unwrap(),
            Address::Host {
                host: "localhost".into(),
                port: 323
            }
        );
        assert_eq!(
            "ntp-1.example.net:5323".parse::<Address>().unwrap(),
            Address::Host {
                host: "ntp-1.example.net".into(),
                port: 5323
            }
        );
        for bad in [
            "",
            "run/chronyd.sock",
            "chronyd.sock",
            "1.2.3.4:notaport",
            "1.2.3.4:99999",
            "host:99999",
            "a\0b",
            "[::1",
            "bad host",
            "-x",
        ] {
            assert!(
                matches!(Address::parse(bad), Err(Error::InvalidAddress { .. })),
                "{bad:?} should be invalid"
            );
        }
        let long = format!("/{}", "x".repeat(200));
        assert!(Address::parse(&long).is_err());
        assert!(validate(&Address::from(Path::new(&long))).is_err());
        assert!(validate(&Address::from(Path::new("relative.sock"))).is_err());
    }

    #[test]
    fn conversions() {
        let sa: SocketAddr = "[::1]:5323".parse().unwrap();
        assert_eq!(sa.to_address().unwrap(), Address::Udp(sa));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(Address::from(ip).to_string(), "127.0.0.1:323");
        assert_eq!(
            PathBuf::from("/run/x.sock").to_address().unwrap(),
            Address::Unix("/run/x.sock".into())
        );
        assert_eq!(
            "/run/x.sock".to_address().unwrap().transport(),
            crate::engine::Transport::Unix
        );
    }

    #[test]
    fn resolves_in_order_without_duplicates() {
        let a: SocketAddr = "127.0.0.1:323".parse().unwrap();
        let b: SocketAddr = "[::1]:323".parse().unwrap();
        let r = Address::resolved("h", [a, b, a]).unwrap();
        assert_eq!(r, vec![Address::Udp(a), Address::Udp(b)]);
        assert!(matches!(
            Address::resolved("h", []),
            Err(Error::Resolve { host, .. }) if host == "h"
        ));
        let localhost = Address::parse("localhost:5323").unwrap().resolve().unwrap();
        assert!(localhost
            .iter()
            .all(|a| matches!(a, Address::Udp(sa) if sa.port() == 5323 && sa.ip().is_loopback())));
        assert!(matches!(
            Address::parse("no-such-host.invalid").unwrap().resolve(),
            Err(Error::Resolve { host, .. }) if host == "no-such-host.invalid"
        ));
    }
}

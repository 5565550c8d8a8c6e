//! The blocking client.

mod reports;

use crate::error::{Error, Result};
use crate::field::{FieldSource, Record};
use crate::session::{Session, Transport};
use std::ffi::{CStr, CString};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// The default deadline of one request, as chronyc uses.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Re-sends of a request over UDP before giving up (within the deadline).
pub const DEFAULT_UDP_RETRIES: u32 = 2;
/// The most records of one report this crate accepts: a record count above
/// it (a corrupted or forged reply) is [`Error::TooManyRecords`], never an
/// allocation or a loop of that size. chronyd serves far fewer sources.
pub const MAX_RECORDS: usize = 65_536;
/// chronyd's default command port.
pub const DEFAULT_PORT: u16 = 323;
/// Where chronyd's Unix command socket usually is, in the order tried by
/// [`Client::connect_default`].
pub const DEFAULT_SOCKET_PATHS: &[&str] =
    &["/run/chrony/chronyd.sock", "/var/run/chrony/chronyd.sock"];

/// A parsed chronyd address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// An absolute path to chronyd's Unix command socket.
    Unix(String),
    /// chronyd's UDP command port.
    Udp(SocketAddr),
}

impl Address {
    /// Parses `/abs/path.sock`, `IPv4`, `IPv4:port`, `IPv6`, `[IPv6]` or
    /// `[IPv6]:port` (port 323 when omitted).
    ///
    /// ```
    /// use chrony::Address;
    /// assert_eq!(Address::parse("127.0.0.1")?, Address::Udp("127.0.0.1:323".parse().unwrap()));
    /// assert_eq!(Address::parse("[::1]:5323")?, Address::Udp("[::1]:5323".parse().unwrap()));
    /// assert_eq!(Address::parse("::1")?, Address::Udp("[::1]:323".parse().unwrap()));
    /// assert!(matches!(Address::parse("/run/chrony/chronyd.sock")?, Address::Unix(_)));
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
            // sockaddr_un holds 108 bytes with the NUL.
            if address.len() > 107 {
                return Err(invalid("socket path longer than 107 bytes"));
            }
            return Ok(Address::Unix(address.to_string()));
        }
        if let Ok(sa) = address.parse::<SocketAddr>() {
            return Ok(Address::Udp(sa));
        }
        if let Ok(ip) = address.parse::<IpAddr>() {
            return Ok(Address::Udp(SocketAddr::new(ip, DEFAULT_PORT)));
        }
        if let Some(inner) = address.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
            if let Ok(ip) = inner.parse::<std::net::Ipv6Addr>() {
                return Ok(Address::Udp(SocketAddr::new(IpAddr::V6(ip), DEFAULT_PORT)));
            }
        }
        if Path::new(address).components().count() > 1 || address.ends_with(".sock") {
            return Err(invalid("a Unix socket path must be absolute"));
        }
        Err(invalid("expected an absolute socket path, IPv4[:port] or [IPv6]:port (host names are not resolved)"))
    }

    /// The transport this address uses.
    pub fn transport(&self) -> Transport {
        match self {
            Address::Unix(_) => Transport::Unix,
            Address::Udp(_) => Transport::Udp,
        }
    }

    /// The form libchrony's `chrony_open_socket` takes.
    fn to_libchrony(&self) -> String {
        match self {
            Address::Unix(p) => p.clone(),
            Address::Udp(SocketAddr::V4(a)) => format!("{}:{}", a.ip(), a.port()),
            Address::Udp(SocketAddr::V6(a)) => format!("[{}]:{}", a.ip(), a.port()),
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_libchrony())
    }
}

/// Options for a [`Client`]: deadline and retries.
///
/// ```no_run
/// use std::time::Duration;
/// let mut client = chrony::Client::builder()
///     .timeout(Duration::from_millis(500))
///     .retries(3)
///     .connect("127.0.0.1:323")?;
/// println!("{:?}", client.tracking()?);
/// # Ok::<(), chrony::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    timeout: Duration,
    retries: Option<u32>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            timeout: DEFAULT_TIMEOUT,
            retries: None,
        }
    }
}

impl ClientBuilder {
    /// The deadline of one request (default 1 s). A request never blocks
    /// longer than this, re-sends included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often a request is re-sent when chronyd stays silent, within the
    /// deadline (default: 2 over UDP, 0 over the Unix socket, which loses no
    /// datagrams). Re-sends are spread evenly over the deadline.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Opens a session to `address` (see [`Address::parse`]).
    ///
    /// Opening a UDP session sends nothing, so an absent chronyd shows up at
    /// the first request (as [`Error::Connect`] or [`Error::Timeout`]).
    ///
    /// # Errors
    /// [`Error::InvalidAddress`], [`Error::Connect`],
    /// [`Error::PermissionDenied`].
    pub fn connect(&self, address: &str) -> Result<Client> {
        let addr = Address::parse(address)?;
        self.connect_to(addr)
    }

    /// Opens a session to a parsed address.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn connect_to(&self, address: Address) -> Result<Client> {
        let transport = address.transport();
        let retries = self.retries.unwrap_or(match transport {
            Transport::Unix => 0,
            Transport::Udp => DEFAULT_UDP_RETRIES,
        });
        let session = Session::open(&address.to_libchrony(), transport, self.timeout, retries)?;
        Ok(Client { session, address })
    }

    /// Like [`Client::connect_default`], with these options.
    ///
    /// # Errors
    /// The error of the last address tried.
    pub fn connect_default(&self) -> Result<Client> {
        let mut last = None;
        for path in DEFAULT_SOCKET_PATHS {
            if !Path::new(path).exists() {
                continue;
            }
            match self.connect(path) {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        for ip in ["127.0.0.1", "::1"] {
            match self.connect(ip) {
                // libchrony answers the tracking count without asking
                // chronyd; the sources count is a real round trip.
                Ok(mut c) => match c.record_count("sources") {
                    Ok(_) => return Ok(c),
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Connect {
            address: DEFAULT_SOCKET_PATHS[0].to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }))
    }
}

/// A blocking client over one libchrony session.
///
/// `Client` is `Send` (it can move to another thread) but not `Sync`: use
/// one client per thread. Many clients may run in parallel; the library
/// serializes libchrony's shared address buffer internally. Dropping the
/// client closes the session and removes its client socket.
///
/// A `Client` cannot be shared between threads:
///
/// ```compile_fail
/// fn needs_sync<T: Sync>() {}
/// needs_sync::<chrony::Client>();
/// ```
///
/// ```no_run
/// let mut client = chrony::Client::connect("/run/chrony/chronyd.sock")?;
/// let tracking = client.tracking()?;
/// println!("stratum {} offset {:+.9} s", tracking.stratum, tracking.last_offset);
/// for source in client.sources()? {
///     println!("{} {} reach {:o}", source.state, source.address, source.reachability);
/// }
/// # Ok::<(), chrony::Error>(())
/// ```
pub struct Client {
    session: Session,
    address: Address,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.address)
            .field("timeout", &self.session.timeout())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects with default options (1 s deadline).
    ///
    /// # Errors
    /// See [`ClientBuilder::connect`].
    pub fn connect(address: &str) -> Result<Client> {
        ClientBuilder::default().connect(address)
    }

    /// Connects the way chronyc does without `-h`: the usual Unix socket
    /// paths ([`DEFAULT_SOCKET_PATHS`]), then UDP to 127.0.0.1 and ::1 (each
    /// checked with a request).
    ///
    /// # Errors
    /// The error of the last address tried.
    pub fn connect_default() -> Result<Client> {
        ClientBuilder::default().connect_default()
    }

    /// A builder for timeout and retries.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The address this client talks to.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.session.transport()
    }

    /// Asks chronyd how many records `report` has.
    ///
    /// # Errors
    /// [`Error::UnknownReport`], transport errors.
    pub fn record_count(&mut self, report: &str) -> Result<usize> {
        let name = report_cstring(report)?;
        self.session.record_count(&name)
    }

    /// Fetches every record of `report` and builds each with `build`, which
    /// sees the record only through [`Record`] / [`FieldSource`]. Records
    /// for which `build` returns `Ok(None)` are skipped.
    ///
    /// # Errors
    /// Transport errors and whatever `build` returns.
    pub fn fetch<T>(
        &mut self,
        report: &str,
        mut build: impl FnMut(&Record<'_, dyn FieldSource + '_>) -> Result<Option<T>>,
    ) -> Result<Vec<T>> {
        let name = report_cstring(report)?;
        self.fetch_c(&name, &mut build)
    }

    pub(crate) fn fetch_c<T>(
        &mut self,
        report: &CStr,
        build: &mut BuildFn<'_, Option<T>>,
    ) -> Result<Vec<T>> {
        let n = self.session.record_count(report)?;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let rec = match self.session.record(report, i) {
                Ok(rec) => rec,
                Err(e) if disabled_means_absent(report, &e) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            if let Some(v) = build(&Record::new(&rec as &dyn FieldSource))? {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Fetches the one record of a single-record report; `Ok(None)` when
    /// chronyd says the feature is disabled (`CHRONY_DISABLED`, only for
    /// the reports of [`DISABLED_MEANS_ABSENT`]).
    pub(crate) fn fetch_single<T>(
        &mut self,
        report: &CStr,
        build: &mut BuildFn<'_, T>,
    ) -> Result<Option<T>> {
        let n = self.session.record_count(report)?;
        if n == 0 {
            return Ok(None);
        }
        match self.session.record(report, 0) {
            Ok(rec) => build(&Record::new(&rec as &dyn FieldSource)).map(Some),
            Err(e) if disabled_means_absent(report, &e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// For reports addressed by source (authdata): for each index, reads the
    /// source's address from its sourcestats record, then the record of
    /// `report`. libchrony fetches that same sourcestats record to address
    /// the request, so the pair is always consistent and costs no extra
    /// round trip.
    pub(crate) fn fetch_with_address<T>(
        &mut self,
        report: &CStr,
        build: &mut AddressedBuildFn<'_, Option<T>>,
    ) -> Result<Vec<T>> {
        let n = self.session.record_count(report)?;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let address = {
                let stats = self.session.record(c"sourcestats", i)?;
                Record::new(&stats as &dyn FieldSource)
                    .get_opt::<Option<String>>("address")?
                    .flatten()
            };
            let rec = self.session.record(report, i)?;
            if let Some(v) = build(&Record::new(&rec as &dyn FieldSource), address)? {
                out.push(v);
            }
        }
        Ok(out)
    }
}

/// Reports whose record request chronyd answers with `CHRONY_DISABLED` when
/// the feature is off (no RTC, no time smoothing): that means "absent", not
/// a failure.
pub const DISABLED_MEANS_ABSENT: &[&str] = &["rtcdata", "smoothing"];

fn disabled_means_absent(report: &CStr, e: &Error) -> bool {
    matches!(
        e,
        Error::Protocol {
            code: crate::ErrorCode::Disabled,
            ..
        }
    ) && report
        .to_str()
        .is_ok_and(|r| DISABLED_MEANS_ABSENT.contains(&r))
}

/// A model builder that also gets the source's address.
pub(crate) type AddressedBuildFn<'f, T> =
    dyn for<'r, 's> FnMut(&Record<'r, dyn FieldSource + 's>, Option<String>) -> Result<T> + 'f;

/// A model builder over a record seen only through [`FieldSource`].
pub(crate) type BuildFn<'f, T> =
    dyn for<'r, 's> FnMut(&Record<'r, dyn FieldSource + 's>) -> Result<T> + 'f;

fn report_cstring(report: &str) -> Result<CString> {
    if !crate::REPORTS.contains(&report) {
        return Err(Error::UnknownReport(report.to_string()));
    }
    CString::new(report).map_err(|_| Error::UnknownReport(report.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            Address::parse("10.1.2.3:99").unwrap().to_libchrony(),
            "10.1.2.3:99"
        );
        assert_eq!(
            Address::parse("fe80::1").unwrap().to_libchrony(),
            "[fe80::1]:323"
        );
        assert_eq!(Address::parse("[::1]").unwrap().to_libchrony(), "[::1]:323");
        for bad in [
            "",
            "localhost",
            "run/chronyd.sock",
            "1.2.3.4:notaport",
            "a\0b",
            "[::1",
        ] {
            assert!(
                matches!(Address::parse(bad), Err(Error::InvalidAddress { .. })),
                "{bad:?} should be invalid"
            );
        }
    }

    #[test]
    fn client_is_send_not_sync() {
        fn assert_send<T: Send>() {}
        assert_send::<Client>();
        // Not Sync: a `Client` holds a raw session pointer. Checked at
        // compile time by the trait-object trick below.
        trait NotSync {
            fn is_sync() -> bool {
                false
            }
        }
        impl<T: ?Sized> NotSync for T {}
        struct Check<T: ?Sized>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        impl<T: ?Sized + Sync> Check<T> {
            fn is_sync() -> bool {
                true
            }
        }
        assert!(!Check::<Client>::is_sync());
        assert!(Check::<String>::is_sync());
    }
}

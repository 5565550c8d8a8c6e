//! `--web.config.file`: exporter-toolkit's web configuration, read whole
//! (its `docs/web-configuration.md`), on rustls and bcrypt.
//!
//! ```yaml
//! tls_server_config:           # tls.rs
//!   cert_file: server.crt      # or cert: inline PEM
//!   key_file: server.key       # or key: inline PEM
//!   client_auth_type: NoClientCert | RequestClientCert | RequireAnyClientCert
//!                     | VerifyClientCertIfGiven | RequireAndVerifyClientCert
//!   client_ca_file: ca.crt     # or client_ca: inline PEM
//!   client_allowed_sans: [prometheus.example.net]
//!   min_version: TLS12 | TLS13 # default TLS12
//!   max_version: TLS12 | TLS13 # default TLS13
//!   cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ...]
//!   prefer_server_cipher_suites: true
//!   curve_preferences: [X25519, CurveP256, CurveP384]
//! http_server_config:          # http.rs
//!   http2: true                # HTTP/2 over TLS (ALPN h2)
//!   headers: {X-Frame-Options: deny, ...}
//! basic_auth_users:            # auth.rs
//!   alice: $2y$10$...          # bcrypt hashes
//! rate_limit:                  # http.rs
//!   interval: 1s               # 0: off
//!   burst: 20
//! ```
//!
//! Relative file names are relative to the config file's directory. A key
//! this exporter does not know, or one whose value cannot apply (TLS 1.0 or
//! 1.1, a cipher suite or curve rustls does not offer, a hash that is not
//! bcrypt), stops the start with a message naming the key. The file is read
//! at start and again on SIGHUP (an error then keeps the configuration in
//! force and is logged).

mod auth;
mod http;
mod tls;

use auth::{Checker, Users, Verdict};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use hyper::{Response, StatusCode};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::rustls;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<tls::TlsFile>,
    http_server_config: Option<http::HttpFile>,
    basic_auth_users: Option<HashMap<String, String>>,
    rate_limit: Option<http::RateLimitFile>,
}

/// A loaded, checked web configuration.
pub struct WebConfig {
    /// The TLS server configuration, when `tls_server_config` is given.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    http: http::Http,
    rate: Option<http::RateLimit>,
    users: Users,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the hashes.
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("http2", &self.http.http2)
            .field("headers", &self.http.headers.len())
            .field("rate_limit", &self.rate.is_some())
            .field("users", &self.users.len())
            .finish()
    }
}

impl WebConfig {
    /// No TLS, no authentication (no `--web.config.file`).
    pub fn none() -> WebConfig {
        WebConfig {
            tls: None,
            http: http::Http {
                http2: false,
                headers: Vec::new(),
            },
            rate: None,
            users: Users::none(),
        }
    }

    /// Reads and checks the file.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--web.config.file {}: {e}", path.display()))?;
        WebConfig::parse(&text, path.parent().unwrap_or(Path::new(".")))
            .map_err(|e| format!("--web.config.file {}: {e}", path.display()))
    }

    /// Parses the YAML text; relative file names are relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Result<WebConfig, String> {
        let file: File = if text.trim().is_empty() {
            File::default()
        } else {
            // serde_norway's messages name the key and position, never a value.
            serde_norway::from_str(text).map_err(|e| e.to_string())?
        };
        let http = http::Http::parse(file.http_server_config.as_ref())?;
        let tls = match &file.tls_server_config {
            Some(t) => Some(Arc::new(tls::server_config(t, base, http.http2)?)),
            None => None,
        };
        let rate = http::RateLimit::parse(file.rate_limit.as_ref())?;
        let users = Users::parse(file.basic_auth_users.unwrap_or_default())?;
        Ok(WebConfig {
            tls,
            http,
            rate,
            users,
        })
    }

    /// Whether requests need basic auth.
    pub fn needs_auth(&self) -> bool {
        !self.users.is_empty()
    }
}

/// The configuration in force, swapped on reload.
pub struct Shared {
    path: Option<PathBuf>,
    current: RwLock<Arc<WebConfig>>,
    checker: Checker,
}

impl Shared {
    /// Loads `path` (or nothing).
    pub fn load(path: Option<PathBuf>) -> Result<Shared, String> {
        let config = match &path {
            Some(p) => WebConfig::load(p)?,
            None => WebConfig::none(),
        };
        let checker = Checker::default();
        checker.prepare(&config.users);
        Ok(Shared {
            path,
            current: RwLock::new(Arc::new(config)),
            checker,
        })
    }

    pub fn current(&self) -> Arc<WebConfig> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the file again; a bad file keeps the configuration in force.
    pub fn reload(&self) {
        let Some(path) = &self.path else {
            tracing::info!("SIGHUP: no --web.config.file to reload");
            return;
        };
        match WebConfig::load(path) {
            Ok(c) => {
                tracing::info!(
                    tls = c.tls.is_some(),
                    basic_auth = c.needs_auth(),
                    rate_limit = c.rate.is_some(),
                    "web config reloaded"
                );
                self.checker.prepare(&c.users);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(c);
            }
            Err(e) => {
                tracing::error!(error = %e, "web config not reloaded: keeping the one in force")
            }
        }
    }

    /// Checks a request against `rate_limit` and `basic_auth_users`: `None`
    /// when it may be served, otherwise the answer to send (429, 401 with a
    /// challenge, or 503 while the bcrypt queue is full).
    pub async fn refuse(&self, headers: &HeaderMap) -> Option<Response<Full<Bytes>>> {
        let config = self.current();
        if config.rate.as_ref().is_some_and(|r| !r.allow()) {
            return Some(plain(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n"));
        }
        if !config.needs_auth() {
            return None;
        }
        let verdict = match headers
            .get(AUTHORIZATION)
            .and_then(|h| basic_credentials(h.as_bytes()))
        {
            Some((user, password)) => self.checker.check(&config.users, &user, &password).await,
            None => Verdict::Denied,
        };
        match verdict {
            Verdict::Allowed => None,
            Verdict::Denied => {
                // Nothing about the user, the password or the hashes.
                tracing::debug!("request without valid basic auth credentials");
                let mut r = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
                r.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"chrony-exporter\""),
                );
                Some(r)
            }
            Verdict::Busy => {
                tracing::debug!("basic auth: the bcrypt queue is full");
                Some(retry_later("Too many logins at once\n"))
            }
        }
    }

    /// Adds `http_server_config.headers` to a response.
    pub fn decorate<B>(&self, r: &mut Response<B>) {
        for (name, value) in &self.current().http.headers {
            r.headers_mut().insert(name.clone(), value.clone());
        }
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A 503 that asks the client to come back in a second: the answer when a
/// bounded queue (logins, probes) is full.
pub(crate) fn retry_later(body: &'static str) -> Response<Full<Bytes>> {
    let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, body);
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// `Basic BASE64(user:password)`.
fn basic_credentials(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Whether a TLS connection chose HTTP/2 (ALPN `h2`, offered when
/// `http_server_config.http2` is on).
pub fn negotiated_h2<IO>(s: &tokio_rustls::server::TlsStream<IO>) -> bool {
    s.get_ref().1.alpn_protocol() == Some(b"h2")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_naming_the_key() {
        let base = Path::new(".");
        assert!(WebConfig::parse("", base).is_ok());
        for (bad, key) in [
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  bogus: 1\n",
                "bogus",
            ),
            ("basic_auth_userz:\n  a: b\n", "basic_auth_userz"),
            (
                "basic_auth_users:\n  alice: not-a-hash\n",
                "basic_auth_users",
            ),
            ("tls_server_config:\n  key_file: b\n", "cert_file"),
            ("http_server_config:\n  http3: true\n", "http3"),
            ("rate_limit:\n  interval: 1s\n  bursts: 3\n", "bursts"),
            ("rate_limit:\n  interval: 1s\n", "rate_limit.burst"),
        ] {
            let e = WebConfig::parse(bad, base).unwrap_err();
            assert!(e.contains(key), "{bad:?}: {e}");
        }
        let e = WebConfig::parse("basic_auth_users:\n  alice: not-a-hash\n", base).unwrap_err();
        assert!(
            !e.contains("not-a-hash"),
            "the error quotes the secret: {e}"
        );
        let e = WebConfig::parse(
            "tls_server_config:\n  min_version: TLS10\n  cert: x\n  key: y\n",
            base,
        )
        .unwrap_err();
        assert!(e.contains("TLS10 is not supported"), "{e}");
    }

    fn shared(yaml: &str) -> Shared {
        Shared {
            path: None,
            current: RwLock::new(Arc::new(WebConfig::parse(yaml, Path::new(".")).unwrap())),
            checker: Checker::default(),
        }
    }

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[tokio::test]
    async fn basic_auth_is_checked_and_good_credentials_remembered() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let shared = shared(&format!("basic_auth_users:\n  alice: '{hash}'\n"));
        let good = with_auth(&header("alice", "s3cret"));
        for _ in 0..100 {
            assert!(shared.refuse(&good).await.is_none());
        }
        let runs = || {
            shared
                .checker
                .runs
                .load(std::sync::atomic::Ordering::Relaxed)
        };
        assert_eq!(runs(), 1);
        for bad in [
            with_auth(&header("alice", "wrong")),
            with_auth(&header("bob", "s3cret")),
            HeaderMap::new(),
            with_auth("Bearer x"),
            with_auth("Basic !!!"),
        ] {
            let r = shared.refuse(&bad).await.expect("refused");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            assert!(r.headers()[WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Basic"));
        }
        // One bcrypt run for each wrong user or password, none for the others.
        assert_eq!(runs(), 3);
        // No password in the debug output either.
        let shown = format!("{:?}", shared.current());
        assert!(
            !shown.contains(&hash) && !shown.contains("s3cret"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn rate_limit_answers_429_before_anything_and_headers_are_added() {
        let shared = shared(
            "rate_limit:\n  interval: 1h\n  burst: 2\n\
             http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n",
        );
        assert!(shared.refuse(&HeaderMap::new()).await.is_none());
        assert!(shared.refuse(&HeaderMap::new()).await.is_none());
        let r = shared.refuse(&HeaderMap::new()).await.expect("limited");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let mut r = Response::new(());
        shared.decorate(&mut r);
        assert_eq!(r.headers()["x-frame-options"], "sameorigin");
    }
}

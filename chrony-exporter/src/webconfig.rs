//! `--web.config.file`: exporter-toolkit's web configuration (TLS and
//! basic auth), on rustls and bcrypt.
//!
//! Supported keys (any other key is an error when the file is loaded):
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt        # or cert: inline PEM
//!   key_file: server.key         # or key: inline PEM
//!   client_auth_type: NoClientCert | VerifyClientCertIfGiven | RequireAndVerifyClientCert
//!   client_ca_file: ca.crt       # or client_ca: inline PEM
//!   min_version: TLS12 | TLS13   # default TLS12
//!   max_version: TLS12 | TLS13   # default TLS13
//! basic_auth_users:
//!   alice: $2y$10$...            # bcrypt hashes
//! ```
//!
//! Relative file names are relative to the config file's directory. The
//! file is read at start (an error stops the exporter) and again on
//! SIGHUP (an error keeps the configuration in force and is logged).
//! `RequestClientCert` and `RequireAnyClientCert` (client certificates
//! that are not verified) and TLS 1.0/1.1 are refused as unsupported.

use base64::Engine as _;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsFile>,
    basic_auth_users: Option<HashMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    cert: Option<String>,
    key: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_ca: Option<String>,
    min_version: Option<String>,
    max_version: Option<String>,
}

/// A loaded, checked web configuration.
pub struct WebConfig {
    /// The TLS server configuration, when `tls_server_config` is given.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// User name to bcrypt hash; empty = no authentication.
    users: HashMap<String, String>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the hashes.
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.len())
            .finish()
    }
}

fn version(
    v: Option<&str>,
    default: &'static rustls::SupportedProtocolVersion,
) -> Result<&'static rustls::SupportedProtocolVersion, String> {
    match v {
        None => Ok(default),
        Some("TLS12") => Ok(&rustls::version::TLS12),
        Some("TLS13") => Ok(&rustls::version::TLS13),
        Some(v @ ("TLS10" | "TLS11")) => Err(format!(
            "{v} is not supported (rustls speaks TLS 1.2 and 1.3): use TLS12 or TLS13"
        )),
        Some(v) => Err(format!("unknown TLS version {v:?} (TLS12 or TLS13)")),
    }
}

fn pem(
    inline: Option<&String>,
    file: Option<&PathBuf>,
    base: &Path,
    what: &str,
) -> Result<Option<Vec<u8>>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!(
            "{what}: give the inline value or the file, not both"
        )),
        (Some(s), None) => Ok(Some(s.as_bytes().to_vec())),
        (None, Some(f)) => {
            let path = base.join(f);
            std::fs::read(&path)
                .map(Some)
                .map_err(|e| format!("{what} {}: {e}", path.display()))
        }
        (None, None) => Ok(None),
    }
}

fn certs(bytes: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what}: not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{what}: no certificate in it"));
    }
    Ok(certs)
}

fn tls(t: &TlsFile, base: &Path) -> Result<rustls::ServerConfig, String> {
    let min = version(t.min_version.as_deref(), &rustls::version::TLS12)?;
    let max = version(t.max_version.as_deref(), &rustls::version::TLS13)?;
    let cert = pem(
        t.cert.as_ref(),
        t.cert_file.as_ref(),
        base,
        "tls_server_config.cert_file",
    )?
    .ok_or("tls_server_config: cert_file (or cert) is required")?;
    let key = pem(
        t.key.as_ref(),
        t.key_file.as_ref(),
        base,
        "tls_server_config.key_file",
    )?
    .ok_or("tls_server_config: key_file (or key) is required")?;
    let chain = certs(&cert, "tls_server_config.cert_file")?;
    // The error of a bad key never quotes the key.
    let key = PrivateKeyDer::from_pem_slice(&key)
        .map_err(|_| "tls_server_config.key_file: no PEM private key in it".to_string())?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [&rustls::version::TLS12, &rustls::version::TLS13]
            .into_iter()
            .filter(|v| {
                let rank = |x: &rustls::SupportedProtocolVersion| u16::from(x.version);
                rank(v) >= rank(min) && rank(v) <= rank(max)
            })
            .collect();
    if versions.is_empty() {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let ca = pem(
        t.client_ca.as_ref(),
        t.client_ca_file.as_ref(),
        base,
        "tls_server_config.client_ca_file",
    )?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let auth = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let verifier = match (auth, ca) {
        ("NoClientCert", None) => rustls::server::WebPkiClientVerifier::no_client_auth(),
        ("NoClientCert", Some(_)) => {
            return Err("tls_server_config: client_ca_file is set but client_auth_type is NoClientCert (use RequireAndVerifyClientCert)".into())
        }
        ("VerifyClientCertIfGiven" | "RequireAndVerifyClientCert", None) => {
            return Err(format!(
                "tls_server_config: client_auth_type {auth} needs client_ca_file"
            ))
        }
        (mode @ ("VerifyClientCertIfGiven" | "RequireAndVerifyClientCert"), Some(ca)) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(&ca, "tls_server_config.client_ca_file")? {
                roots
                    .add(c)
                    .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?;
            }
            let b = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let b = if mode == "VerifyClientCertIfGiven" {
                b.allow_unauthenticated()
            } else {
                b
            };
            b.build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?
        }
        (m @ ("RequestClientCert" | "RequireAnyClientCert"), _) => {
            return Err(format!(
                "tls_server_config: client_auth_type {m} (unverified client certificates) is not supported: use RequireAndVerifyClientCert"
            ))
        }
        (other, _) => {
            return Err(format!(
                "tls_server_config: unknown client_auth_type {other:?} (NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
            ))
        }
    };
    let mut config = builder
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls_server_config: certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl WebConfig {
    /// No TLS, no authentication (no `--web.config.file`).
    pub fn none() -> WebConfig {
        WebConfig {
            tls: None,
            users: HashMap::new(),
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
        let tls = match &file.tls_server_config {
            Some(t) => Some(Arc::new(tls(t, base)?)),
            None => None,
        };
        let users = file.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if user.contains(':') {
                return Err(format!("basic_auth_users: user name {user:?} contains ':'"));
            }
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(format!(
                    "basic_auth_users: the hash of {user:?} is not a bcrypt hash"
                ));
            }
        }
        Ok(WebConfig { tls, users })
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
    cache: AuthCache,
}

impl Shared {
    /// Loads `path` (or nothing).
    pub fn load(path: Option<PathBuf>) -> Result<Shared, String> {
        let config = match &path {
            Some(p) => WebConfig::load(p)?,
            None => WebConfig::none(),
        };
        Ok(Shared {
            path,
            current: RwLock::new(Arc::new(config)),
            cache: AuthCache::default(),
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
                    "web config reloaded"
                );
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(c);
            }
            Err(e) => {
                tracing::error!(error = %e, "web config not reloaded: keeping the one in force")
            }
        }
    }

    /// Checks a request's `Authorization` header: true when no
    /// authentication is configured or the credentials are right.
    pub async fn authorized(&self, header: Option<&[u8]>) -> bool {
        let config = self.current();
        if !config.needs_auth() {
            return true;
        }
        let Some((user, password)) = header.and_then(basic_credentials) else {
            return false;
        };
        self.cache.check(&config, &user, &password).await
    }
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

/// Results of bcrypt verifications, keyed by SHA-256 of (user, password,
/// hash): a flood of requests with the same credentials costs one bcrypt
/// run, and the cache holds no password. A changed hash (reload) is a new
/// key. Bounded: cleared when full.
#[derive(Default)]
struct AuthCache {
    results: Mutex<HashMap<[u8; 32], bool>>,
    /// bcrypt runs so far (tests).
    verifications: AtomicU64,
}

const AUTH_CACHE_MAX: usize = 4096;

/// A hash to verify against for unknown users, so an unknown user costs
/// as much as a known one.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        bcrypt::hash("chrony-exporter: no such user", bcrypt::DEFAULT_COST).unwrap_or_default()
    })
}

impl AuthCache {
    async fn check(&self, config: &WebConfig, user: &str, password: &str) -> bool {
        let known = config.users.get(user);
        let hash = known.map(String::as_str).unwrap_or("");
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [user, password, hash] {
            ctx.update(&(part.len() as u64).to_le_bytes());
            ctx.update(part.as_bytes());
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        if let Some(&ok) = self
            .results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return ok;
        }
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let (password, hash) = (password.to_string(), known.cloned());
        let ok = tokio::task::spawn_blocking(move || match hash {
            Some(h) => bcrypt::verify(password, &h).unwrap_or(false),
            None => {
                let _ = bcrypt::verify(password, dummy_hash());
                false
            }
        })
        .await
        .unwrap_or(false);
        let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        if results.len() >= AUTH_CACHE_MAX {
            results.clear();
        }
        results.insert(key, ok);
        ok
    }
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
    fn unknown_keys_and_bad_values_are_errors() {
        let base = Path::new(".");
        assert!(WebConfig::parse("", base).is_ok());
        for bad in [
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  bogus: 1\n",
            "basic_auth_userz:\n  a: b\n",
            "basic_auth_users:\n  alice: not-a-hash\n",
            "tls_server_config:\n  key_file: b\n",
        ] {
            let e = WebConfig::parse(bad, base).unwrap_err();
            assert!(!e.is_empty());
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

    #[tokio::test]
    async fn basic_auth_is_checked_and_cached() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let config = WebConfig::parse(
            &format!("basic_auth_users:\n  alice: '{hash}'\n"),
            Path::new("."),
        )
        .unwrap();
        let shared = Shared {
            path: None,
            current: RwLock::new(Arc::new(config)),
            cache: AuthCache::default(),
        };
        let good = header("alice", "s3cret");
        for _ in 0..100 {
            assert!(shared.authorized(Some(good.as_bytes())).await);
        }
        assert_eq!(shared.cache.verifications.load(Ordering::Relaxed), 1);
        assert!(
            !shared
                .authorized(Some(header("alice", "wrong").as_bytes()))
                .await
        );
        assert!(
            !shared
                .authorized(Some(header("bob", "s3cret").as_bytes()))
                .await
        );
        assert!(!shared.authorized(None).await);
        assert!(!shared.authorized(Some(b"Bearer x")).await);
        assert!(!shared.authorized(Some(b"Basic !!!")).await);
        assert_eq!(shared.cache.verifications.load(Ordering::Relaxed), 3);
        // No password in the debug output either.
        let shown = format!("{:?}", shared.current());
        assert!(
            !shown.contains(&hash) && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}

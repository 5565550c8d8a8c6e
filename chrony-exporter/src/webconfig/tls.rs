//! `tls_server_config` on rustls: certificate and key (files or inline
//! PEM), the five client auth types of Go's `crypto/tls`, client CAs,
//! `client_allowed_sans`, TLS versions, cipher suites by their Go/IANA
//! names, `prefer_server_cipher_suites`, `curve_preferences`, and ALPN for
//! `http_server_config.http2`.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsFile {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    cert: Option<String>,
    key: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_ca: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

/// The cipher suites Go's `crypto/tls` knows by name (what exporter-toolkit
/// accepts in `cipher_suites`), with their IANA numbers. rustls offers the
/// AEAD suites with ECDHE only; the others are refused by name.
const GO_CIPHER_SUITES: &[(&str, u16)] = &[
    ("TLS_RSA_WITH_AES_128_CBC_SHA", 0x002f),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009c),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009d),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xc009),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xc00a),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xc013),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xc014),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xc02c),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xc030),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca8),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9),
    ("TLS_AES_128_GCM_SHA256", 0x1301),
    ("TLS_AES_256_GCM_SHA384", 0x1302),
    ("TLS_CHACHA20_POLY1305_SHA256", 0x1303),
];

/// Go's curve names (exporter-toolkit's list) and rustls' groups; P-521 has
/// none in rustls' ring provider.
const GO_CURVES: &[(&str, Option<rustls::NamedGroup>)] = &[
    ("CurveP256", Some(rustls::NamedGroup::secp256r1)),
    ("CurveP384", Some(rustls::NamedGroup::secp384r1)),
    ("CurveP521", None),
    ("X25519", Some(rustls::NamedGroup::X25519)),
];

fn version(
    key: &str,
    v: Option<&str>,
    default: &'static rustls::SupportedProtocolVersion,
) -> Result<&'static rustls::SupportedProtocolVersion, String> {
    match v {
        None => Ok(default),
        Some("TLS12") => Ok(&rustls::version::TLS12),
        Some("TLS13") => Ok(&rustls::version::TLS13),
        Some(v @ ("TLS10" | "TLS11")) => Err(format!(
            "tls_server_config.{key}: {v} is not supported (rustls speaks TLS 1.2 and 1.3): use TLS12 or TLS13"
        )),
        Some(v) => Err(format!(
            "tls_server_config.{key}: unknown TLS version {v:?} (TLS12 or TLS13)"
        )),
    }
}

fn pem(
    inline: Option<&String>,
    file: Option<&PathBuf>,
    base: &Path,
    inline_key: &str,
    file_key: &str,
) -> Result<Option<Vec<u8>>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config: {inline_key} and {file_key} are both set: give one"
        )),
        (Some(s), None) => Ok(Some(s.as_bytes().to_vec())),
        (None, Some(f)) => {
            let path = base.join(f);
            std::fs::read(&path)
                .map(Some)
                .map_err(|e| format!("tls_server_config.{file_key} {}: {e}", path.display()))
        }
        (None, None) => Ok(None),
    }
}

fn certs(bytes: &[u8], key: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls_server_config.{key}: not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err(format!("tls_server_config.{key}: no certificate in it"));
    }
    Ok(certs)
}

/// The client auth types of Go's `crypto/tls` (exporter-toolkit's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientAuth {
    None,
    /// Asked for, not required, not verified.
    Request,
    /// Required, not verified.
    RequireAny,
    /// Verified against the client CAs when given.
    VerifyIfGiven,
    /// Required and verified.
    RequireAndVerify,
}

fn client_auth(name: Option<&str>) -> Result<ClientAuth, String> {
    Ok(match name.unwrap_or("NoClientCert") {
        "" | "NoClientCert" => ClientAuth::None,
        "RequestClientCert" => ClientAuth::Request,
        // "RequireClientCert": exporter-toolkit's older name.
        "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAny,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown {other:?} (NoClientCert, RequestClientCert, \
                 RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
            ))
        }
    })
}

/// The rustls provider with the configured suites and groups: the TLS 1.3
/// suites always (as in Go, `cipher_suites` restricts TLS 1.2 only), the
/// listed TLS 1.2 suites in the listed order (all when none is listed).
fn provider(t: &TlsFile) -> Result<CryptoProvider, String> {
    let mut p = rustls::crypto::ring::default_provider();
    if let Some(names) = &t.cipher_suites {
        let mut tls12 = Vec::new();
        for name in names {
            let Some(&(_, code)) = GO_CIPHER_SUITES.iter().find(|(n, _)| n == name) else {
                return Err(format!(
                    "tls_server_config.cipher_suites: unknown cipher suite {name:?} (Go's names, as crypto/tls.CipherSuites lists them)"
                ));
            };
            let suite = p
                .cipher_suites
                .iter()
                .find(|s| u16::from(s.suite()) == code)
                .copied()
                .ok_or_else(|| {
                    format!(
                        "tls_server_config.cipher_suites: {name} is not supported: this exporter (rustls) offers \
                         the ECDHE suites with AES-GCM or ChaCha20-Poly1305 only"
                    )
                })?;
            if suite.version() == &rustls::version::TLS12 && !tls12.contains(&suite) {
                tls12.push(suite);
            }
        }
        let tls13: Vec<_> = p
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        p.cipher_suites = tls13.into_iter().chain(tls12).collect();
    }
    if let Some(names) = &t.curve_preferences {
        let mut groups = Vec::new();
        for name in names {
            let Some(&(_, group)) = GO_CURVES.iter().find(|(n, _)| n == name) else {
                return Err(format!(
                    "tls_server_config.curve_preferences: unknown curve {name:?} (CurveP256, CurveP384, CurveP521, X25519)"
                ));
            };
            let group = group
                .and_then(|g| p.kx_groups.iter().find(|k| k.name() == g).copied())
                .ok_or_else(|| {
                    format!(
                        "tls_server_config.curve_preferences: {name} is not supported by this exporter (rustls): \
                         use CurveP256, CurveP384 or X25519"
                    )
                })?;
            groups.push(group);
        }
        if groups.is_empty() {
            return Err("tls_server_config.curve_preferences: empty list".into());
        }
        p.kx_groups = groups;
    }
    Ok(p)
}

/// Builds the rustls configuration; `http2` adds `h2` to ALPN.
pub(super) fn server_config(
    t: &TlsFile,
    base: &Path,
    http2: bool,
) -> Result<rustls::ServerConfig, String> {
    let min = version(
        "min_version",
        t.min_version.as_deref(),
        &rustls::version::TLS12,
    )?;
    let max = version(
        "max_version",
        t.max_version.as_deref(),
        &rustls::version::TLS13,
    )?;
    let cert = pem(
        t.cert.as_ref(),
        t.cert_file.as_ref(),
        base,
        "cert",
        "cert_file",
    )?
    .ok_or("tls_server_config: cert_file (or cert) is required")?;
    let key = pem(t.key.as_ref(), t.key_file.as_ref(), base, "key", "key_file")?
        .ok_or("tls_server_config: key_file (or key) is required")?;
    let chain = certs(&cert, "cert_file")?;
    // The error of a bad key never quotes the key.
    let key = PrivateKeyDer::from_pem_slice(&key)
        .map_err(|_| "tls_server_config.key_file: no PEM private key in it".to_string())?;
    let rank = |x: &rustls::SupportedProtocolVersion| u16::from(x.version);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [&rustls::version::TLS12, &rustls::version::TLS13]
            .into_iter()
            .filter(|v| rank(v) >= rank(min) && rank(v) <= rank(max))
            .collect();
    if versions.is_empty() {
        return Err("tls_server_config.min_version: above max_version".into());
    }
    let provider = Arc::new(provider(t)?);
    if !versions.contains(&&rustls::version::TLS13)
        && !provider
            .cipher_suites
            .iter()
            .any(|s| s.version() == &rustls::version::TLS12)
    {
        return Err(
            "tls_server_config.cipher_suites: no TLS 1.2 suite listed, and max_version is TLS12"
                .into(),
        );
    }
    let auth = client_auth(t.client_auth_type.as_deref())?;
    let ca = pem(
        t.client_ca.as_ref(),
        t.client_ca_file.as_ref(),
        base,
        "client_ca",
        "client_ca_file",
    )?;
    let sans = t.client_allowed_sans.clone().unwrap_or_default();
    if !sans.is_empty() && !matches!(auth, ClientAuth::RequireAndVerify) {
        return Err(
            "tls_server_config.client_allowed_sans: needs client_auth_type RequireAndVerifyClientCert \
             (the others let a client in without a certificate, or with one nobody verified, whose \
             SANs anyone can write)"
                .into(),
        );
    }
    let inner: Arc<dyn ClientCertVerifier> = match (auth, ca) {
        (ClientAuth::None, Some(_)) => {
            return Err(
                "tls_server_config.client_ca_file: set, but client_auth_type is NoClientCert (use RequireAndVerifyClientCert)"
                    .into(),
            )
        }
        (ClientAuth::None, None) => WebPkiClientVerifier::no_client_auth(),
        (ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify, None) => {
            return Err(format!(
                "tls_server_config.client_auth_type: {} needs client_ca_file (or client_ca)",
                t.client_auth_type.as_deref().unwrap_or_default()
            ))
        }
        (ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify, Some(ca)) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(&ca, "client_ca_file")? {
                roots
                    .add(c)
                    .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?;
            }
            let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let b = if auth == ClientAuth::VerifyIfGiven {
                b.allow_unauthenticated()
            } else {
                b
            };
            b.build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?
        }
        // Go neither verifies nor uses the CAs here (beyond hints).
        (ClientAuth::Request | ClientAuth::RequireAny, _) => Arc::new(Unverified {
            mandatory: auth == ClientAuth::RequireAny,
            algorithms: provider.signature_verification_algorithms,
        }),
    };
    let verifier: Arc<dyn ClientCertVerifier> = if sans.is_empty() {
        inner
    } else {
        Arc::new(AllowedSans { inner, sans })
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls_server_config: certificate and key: {e}"))?;
    // Go's default: the server's order.
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// `RequestClientCert` and `RequireAnyClientCert`: any certificate is taken
/// without checking its issuer (as Go does); the handshake still proves the
/// client holds its key.
#[derive(Debug)]
struct Unverified {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for Unverified {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `client_allowed_sans`: after the client auth type's own checks, the
/// client certificate must carry one of these Subject Alternative Names
/// exactly (DNS name, e-mail address, IP address or URI), as
/// exporter-toolkit compares them.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    sans: Vec<String>,
}

/// The Subject Alternative Names of a certificate as Go prints them (IP
/// addresses in their usual text form).
fn subject_alt_names(cert: &[u8]) -> Result<Vec<String>, String> {
    use x509_parser::extensions::GeneralName;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert)
        .map_err(|e| format!("unreadable certificate: {e}"))?;
    let mut out = Vec::new();
    if let Ok(Some(ext)) = parsed.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                    out.push((*s).to_string())
                }
                GeneralName::IPAddress(b) => match b.len() {
                    4 => out.push(
                        std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())
                            .to_string(),
                    ),
                    16 => out.push(
                        std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())
                            .to_string(),
                    ),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Ok(out)
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let names = subject_alt_names(end_entity).map_err(rustls::Error::General)?;
        if names.iter().any(|n| self.sans.contains(n)) {
            Ok(verified)
        } else {
            tracing::debug!(sans = ?names, "client certificate without an allowed SAN");
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(yaml: &str) -> TlsFile {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn cipher_suites_map_by_name_and_restrict_tls12_only() {
        let p = provider(&file(
            "cipher_suites: [TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n",
        ))
        .unwrap();
        let names: Vec<u16> = p
            .cipher_suites
            .iter()
            .map(|s| u16::from(s.suite()))
            .collect();
        // TLS 1.3's three first (rustls' order), then the listed ones in order.
        assert_eq!(names.len(), 5, "{names:x?}");
        assert_eq!(&names[3..], &[0xcca8, 0xc02b]);
        assert!(names[..3].iter().all(|c| (0x1301..=0x1303).contains(c)));

        let e = provider(&file("cipher_suites: [TLS_RSA_WITH_AES_128_GCM_SHA256]\n")).unwrap_err();
        assert!(
            e.contains("TLS_RSA_WITH_AES_128_GCM_SHA256 is not supported"),
            "{e}"
        );
        let e = provider(&file("cipher_suites: [TLS_MADE_UP]\n")).unwrap_err();
        assert!(
            e.contains("tls_server_config.cipher_suites: unknown cipher suite"),
            "{e}"
        );
        // Every Go name rustls has maps to it (the AEAD ECDHE suites, TLS 1.3).
        let all = rustls::crypto::ring::default_provider();
        for (name, code) in GO_CIPHER_SUITES {
            let offered = all
                .cipher_suites
                .iter()
                .any(|s| u16::from(s.suite()) == *code);
            assert_eq!(
                provider(&file(&format!("cipher_suites: [{name}]\n"))).is_ok(),
                offered,
                "{name}"
            );
        }
    }

    #[test]
    fn curves_map_by_go_name_in_order() {
        let p = provider(&file("curve_preferences: [X25519, CurveP384, CurveP256]\n")).unwrap();
        let names: Vec<_> = p.kx_groups.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            [
                rustls::NamedGroup::X25519,
                rustls::NamedGroup::secp384r1,
                rustls::NamedGroup::secp256r1
            ]
        );
        let e = provider(&file("curve_preferences: [CurveP521]\n")).unwrap_err();
        assert!(
            e.contains("tls_server_config.curve_preferences: CurveP521 is not supported"),
            "{e}"
        );
        let e = provider(&file("curve_preferences: [P256]\n")).unwrap_err();
        assert!(e.contains("unknown curve"), "{e}");
    }

    #[test]
    fn client_auth_types_by_name() {
        for (name, want) in [
            (None, ClientAuth::None),
            (Some("NoClientCert"), ClientAuth::None),
            (Some("RequestClientCert"), ClientAuth::Request),
            (Some("RequireAnyClientCert"), ClientAuth::RequireAny),
            (Some("RequireClientCert"), ClientAuth::RequireAny),
            (Some("VerifyClientCertIfGiven"), ClientAuth::VerifyIfGiven),
            (
                Some("RequireAndVerifyClientCert"),
                ClientAuth::RequireAndVerify,
            ),
        ] {
            assert_eq!(client_auth(name).unwrap(), want, "{name:?}");
        }
        let e = client_auth(Some("Always")).unwrap_err();
        assert!(e.contains("tls_server_config.client_auth_type"), "{e}");
    }
}

//! `--web.config.file`, exporter-toolkit's format key by key: TLS
//! (certificate and key as files or inline, the five client auth types,
//! client CAs, client_allowed_sans, min/max version, cipher_suites,
//! prefer_server_cipher_suites, curve_preferences), http_server_config
//! (headers, http2), basic auth (refusals that leak nothing and leave the
//! server up), rate_limit, the format's own sample file, reload on SIGHUP,
//! and keys that cannot apply refused at start naming the key.
//! Certificates come from `openssl`, requests from `curl` and `openssl
//! s_client` (installed by scripts/bootstrap).

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (openssl is installed by scripts/bootstrap)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate
/// (SAN DNS:prometheus), both signed by the CA, and a self-signed client
/// certificate (`stranger`, SAN DNS:stranger) in `dir`.
fn make_certs(dir: &Path) {
    let p = |f: &str| dir.join(f).display().to_string();
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]));
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "subjectAltName=DNS:prometheus\nextendedKeyUsage=clientAuth\n",
        ),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        run(Command::new("openssl").args([
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &p(&format!("{name}.key")),
            "-out",
            &p(&format!("{name}.csr")),
            "-subj",
            &format!("/CN={name}"),
        ]));
        run(Command::new("openssl").args([
            "x509",
            "-req",
            "-in",
            &p(&format!("{name}.csr")),
            "-CA",
            &p("ca.crt"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-out",
            &p(&format!("{name}.crt")),
            "-days",
            "2",
            "-extfile",
            &p(&format!("{name}.ext")),
        ]));
    }
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &p("stranger.key"),
        "-out",
        &p("stranger.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=stranger",
        "-addext",
        "subjectAltName=DNS:stranger",
        "-addext",
        "extendedKeyUsage=clientAuth",
    ]));
}

/// `curl` against the exporter: (HTTP status, 0 when there was no HTTP
/// answer; headers and body).
fn curl(url: &str, args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-S", "-i", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is needed (installed by scripts/bootstrap)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "000"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn tls_client_certificates_and_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let hash = bcrypt::hash("s3cret-pass", 4).unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(
        &config,
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  \
             min_version: TLS12\nbasic_auth_users:\n  alice: '{hash}'\n"
        ),
    )
    .unwrap();
    let mut e = Exporter::start(&[
        "--chrony.address",
        "127.0.0.1:9",
        "--chrony.timeout",
        "1s",
        "--web.config.file",
        config.to_str().unwrap(),
    ]);
    let url = format!("https://127.0.0.1:{}/metrics", e.addr().port());
    let p = |f: &str| dir.path().join(f).display().to_string();
    let (ca, cert, key) = (p("ca.crt"), p("client.crt"), p("client.key"));
    let with_cert = ["--cacert", &ca, "--cert", &cert, "--key", &key];

    // No client certificate: the handshake is refused, no HTTP answer.
    let (code, _) = curl(&url, &["--cacert", &ca, "-u", "alice:s3cret-pass"]);
    assert_eq!(code, 0, "served without a client certificate");

    // Plain HTTP to the TLS port: no HTTP answer either.
    let mut s = TcpStream::connect(e.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    assert!(
        !raw.starts_with(b"HTTP/"),
        "plain HTTP answered: {:?}",
        String::from_utf8_lossy(&raw)
    );

    // Certificate but a wrong or no password: 401 with a challenge, and
    // nothing of the hash in it.
    for auth in [
        &["-u", "alice:wrong"][..],
        &["-u", "mallory:s3cret-pass"][..],
        &[][..],
    ] {
        let mut args = with_cert.to_vec();
        args.extend_from_slice(auth);
        let (code, text) = curl(&url, &args);
        assert_eq!(code, 401, "{auth:?}: {text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("www-authenticate: basic"),
            "{text}"
        );
        assert!(!text.contains(&hash) && !text.contains("$2b$"), "{text}");
    }

    // The server is still up, and the right request works.
    assert!(e.alive());
    let mut args = with_cert.to_vec();
    args.extend_from_slice(&["-u", "alice:s3cret-pass"]);
    let (code, text) = curl(&url, &args);
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("\nchrony_up 0"), "{text}");
    let log = e.log();
    assert!(!log.contains("s3cret") && !log.contains(&hash), "{log}");
}

#[test]
fn min_version_tls13_refuses_tls12() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let config = dir.path().join("web.yml");
    std::fs::write(
        &config,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n",
    )
    .unwrap();
    let e = Exporter::start(&[
        "--chrony.address",
        "127.0.0.1:9",
        "--web.config.file",
        config.to_str().unwrap(),
    ]);
    let url = format!("https://127.0.0.1:{}/", e.addr().port());
    let ca = dir.path().join("ca.crt").display().to_string();
    let (code, text) = curl(&url, &["--cacert", &ca, "--tls-max", "1.2"]);
    assert_eq!(code, 0, "TLS 1.2 accepted: {text}");
    let (code, text) = curl(&url, &["--cacert", &ca]);
    assert_eq!(code, 200, "{text}");
}

#[test]
fn sighup_reloads_and_a_bad_file_keeps_the_old_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    let users = |password: &str| {
        format!(
            "basic_auth_users:\n  alice: '{}'\n",
            bcrypt::hash(password, 4).unwrap()
        )
    };
    std::fs::write(&config, users("one")).unwrap();
    let e = Exporter::start(&[
        "--chrony.address",
        "127.0.0.1:9",
        "--web.config.file",
        config.to_str().unwrap(),
    ]);
    let url = format!("http://127.0.0.1:{}/", e.addr().port());
    assert_eq!(curl(&url, &["-u", "alice:one"]).0, 200);
    assert_eq!(curl(&url, &["-u", "alice:two"]).0, 401);
    let hup = || {
        run(Command::new("kill").args(["-HUP", &e.child.id().to_string()]));
    };

    std::fs::write(&config, users("two")).unwrap();
    hup();
    wait_for("the reloaded password", Duration::from_secs(20), || {
        curl(&url, &["-u", "alice:two"]).0 == 200
    });
    assert_eq!(curl(&url, &["-u", "alice:one"]).0, 401);

    std::fs::write(&config, "basic_auth_users:\n  alice: x\nbogus_key: 1\n").unwrap();
    hup();
    wait_for(
        "the reload error in the log",
        Duration::from_secs(20),
        || e.log().contains("web config not reloaded"),
    );
    assert_eq!(curl(&url, &["-u", "alice:two"]).0, 200);
    assert_eq!(curl(&url, &["-u", "alice:x"]).0, 401);
}

#[test]
fn unknown_keys_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(&config, "tls_server_config:\n  cert_fil: a.crt\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args(["--web.listen-address", "127.0.0.1:0", "--web.config.file"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cert_fil"), "{err}");
}

/// An exporter with `config` (written to `web.yml` in `dir`).
fn with_config(dir: &Path, config: &str) -> Exporter {
    let path = dir.join("web.yml");
    std::fs::write(&path, config).unwrap();
    Exporter::start(&[
        "--chrony.address",
        "127.0.0.1:9",
        "--chrony.timeout",
        "1s",
        "--web.config.file",
        path.to_str().unwrap(),
    ])
}

/// The start with `config` fails (exit status 2) with a message naming `key`.
fn refused_at_start(config: &str, key: &str) {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let path = dir.path().join("web.yml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args(["--web.listen-address", "127.0.0.1:0", "--web.config.file"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{config}: {err}");
    assert!(
        err.contains(key),
        "{config}: the error does not name {key}: {err}"
    );
}

/// `curl` to https://127.0.0.1:PORT/ with the CA, a client certificate
/// (`client`, `stranger` or none) and more arguments.
fn curl_tls(e: &Exporter, dir: &Path, cert: Option<&str>, more: &[&str]) -> (u16, String) {
    let p = |f: &str| dir.join(f).display().to_string();
    let mut args = vec!["--cacert".to_string(), p("ca.crt")];
    if let Some(c) = cert {
        args.extend([
            "--cert".into(),
            p(&format!("{c}.crt")),
            "--key".into(),
            p(&format!("{c}.key")),
        ]);
    }
    args.extend(more.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    curl(&format!("https://127.0.0.1:{}/", e.addr().port()), &args)
}

const SERVER: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

#[test]
fn client_auth_types_as_go_defines_them() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let d = dir.path();
    // (client_auth_type, with client_ca_file, answers for: no certificate,
    // the CA's client certificate, a self-signed one). 0: no HTTP answer.
    for (auth, ca, want) in [
        ("NoClientCert", false, [200, 200, 200]),
        ("RequestClientCert", false, [200, 200, 200]),
        ("RequireAnyClientCert", false, [0, 200, 200]),
        ("VerifyClientCertIfGiven", true, [200, 200, 0]),
        ("RequireAndVerifyClientCert", true, [0, 200, 0]),
    ] {
        let ca = if ca { "  client_ca_file: ca.crt\n" } else { "" };
        let e = with_config(d, &format!("{SERVER}  client_auth_type: {auth}\n{ca}"));
        let got = [None, Some("client"), Some("stranger")].map(|c| curl_tls(&e, d, c, &[]).0);
        assert_eq!(got, want, "{auth}: no certificate, CA-signed, self-signed");
    }
}

#[test]
fn client_allowed_sans_admit_only_those_names() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let d = dir.path();
    for (auth, ca, sans, want) in [
        (
            "RequireAndVerifyClientCert",
            "  client_ca_file: ca.crt\n",
            "[prometheus]",
            [200, 0],
        ),
        (
            "RequireAndVerifyClientCert",
            "  client_ca_file: ca.crt\n",
            "[other, 127.0.0.2]",
            [0, 0],
        ),
    ] {
        let e = with_config(
            d,
            &format!("{SERVER}  client_auth_type: {auth}\n{ca}  client_allowed_sans: {sans}\n"),
        );
        let got = [Some("client"), Some("stranger")].map(|c| curl_tls(&e, d, c, &[]).0);
        assert_eq!(
            got, want,
            "{auth} {sans}: the CA's client (DNS:prometheus), the stranger"
        );
    }
    // Only a verified certificate's names mean anything: with the other
    // types anyone may send (or write) a certificate naming an allowed SAN.
    refused_at_start(
        &format!("{SERVER}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n  client_allowed_sans: [x]\n"),
        "client_allowed_sans",
    );
    refused_at_start(
        &format!(
            "{SERVER}  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [stranger]\n"
        ),
        "client_allowed_sans",
    );
}

#[test]
fn inline_certificate_key_and_client_ca() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let d = dir.path();
    let indent = |f: &str| {
        std::fs::read_to_string(d.join(f))
            .unwrap()
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    let e = with_config(
        d,
        &format!(
            "tls_server_config:\n  cert: |\n{}  key: |\n{}  client_ca: |\n{}  client_auth_type: RequireAndVerifyClientCert\n",
            indent("server.crt"),
            indent("server.key"),
            indent("ca.crt")
        ),
    );
    assert_eq!(curl_tls(&e, d, Some("client"), &[]).0, 200);
    assert_eq!(curl_tls(&e, d, None, &[]).0, 0);
    refused_at_start(
        &format!("{SERVER}  cert: x\n"),
        "cert and cert_file are both set",
    );
}

#[test]
fn max_version_cipher_suites_and_curves() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let d = dir.path();
    let e = with_config(d, &format!("{SERVER}  max_version: TLS12\n"));
    assert_eq!(
        curl_tls(&e, d, None, &["--tlsv1.3"]).0,
        0,
        "TLS 1.3 above max_version"
    );
    assert_eq!(curl_tls(&e, d, None, &["--tlsv1.2"]).0, 200);
    drop(e);

    // Only one TLS 1.2 suite (the certificate's key is ECDSA).
    let e = with_config(
        d,
        &format!("{SERVER}  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n"),
    );
    assert_eq!(
        curl_tls(&e, d, None, &["--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"]).0,
        0
    );
    assert_eq!(
        curl_tls(&e, d, None, &["--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"]).0,
        200
    );
    drop(e);

    // prefer_server_cipher_suites: the server's order, or the client's.
    for (prefer, want) in [
        ("true", "ECDHE-ECDSA-AES256-GCM-SHA384"),
        ("false", "ECDHE-ECDSA-AES128-GCM-SHA256"),
    ] {
        let e = with_config(
            d,
            &format!(
                "{SERVER}  max_version: TLS12\n  prefer_server_cipher_suites: {prefer}\n  cipher_suites:\n    \
                 - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"
            ),
        );
        let out = s_client(
            &e,
            d,
            &[
                "-tls1_2",
                "-cipher",
                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
            ],
        );
        assert!(
            out.contains(&format!("Cipher is {want}")),
            "prefer_server_cipher_suites {prefer}:\n{out}"
        );
    }

    // curve_preferences: only P-384 offered.
    let e = with_config(d, &format!("{SERVER}  curve_preferences: [CurveP384]\n"));
    let out = s_client(&e, d, &["-groups", "P-256"]);
    assert!(
        !out.contains("New, TLSv1."),
        "a handshake over P-256:\n{out}"
    );
    let out = s_client(&e, d, &["-groups", "P-384"]);
    assert!(
        out.contains("New, TLSv1."),
        "no handshake over P-384:\n{out}"
    );

    refused_at_start(
        &format!("{SERVER}  cipher_suites: [TLS_RSA_WITH_AES_128_GCM_SHA256]\n"),
        "cipher_suites",
    );
    refused_at_start(
        &format!("{SERVER}  curve_preferences: [CurveP521]\n"),
        "curve_preferences",
    );
    refused_at_start(&format!("{SERVER}  max_version: TLS11\n"), "max_version");
}

/// `openssl s_client` against the exporter: its output (handshake summary).
fn s_client(e: &Exporter, dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", e.addr().port()),
            "-CAfile",
        ])
        .arg(dir.join("ca.crt"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// "HTTP_VERSION STATUS" of a GET / by `curl --http2` over TLS.
fn http_version(e: &Exporter, dir: &Path) -> String {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            "--cacert",
        ])
        .arg(dir.join("ca.crt"))
        .arg(format!("https://127.0.0.1:{}/", e.addr().port()))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn http2_and_response_headers() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let d = dir.path();
    let headers = "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    \
                   Strict-Transport-Security: max-age=31536000\n";
    let e = with_config(d, &format!("{SERVER}{headers}"));
    assert_eq!(
        http_version(&e, d),
        "2 200",
        "not HTTP/2 (the default http2: true)"
    );
    let (code, text) = curl_tls(&e, d, None, &["--http2"]);
    assert_eq!(code, 200, "{text}");
    assert!(text.starts_with("HTTP/2 200"), "{text}");
    let lower = text.to_ascii_lowercase();
    for h in [
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
        "strict-transport-security: max-age=31536000",
    ] {
        assert!(lower.contains(h), "no {h}:\n{text}");
    }
    // /metrics over HTTP/2 as well.
    let (code, text) = curl(
        &format!("https://127.0.0.1:{}/metrics", e.addr().port()),
        &[
            "--cacert",
            &d.join("ca.crt").display().to_string(),
            "--http2",
        ],
    );
    assert_eq!(code, 200);
    assert!(text.contains("\nchrony_up 0"), "{text}");
    drop(e);

    let e = with_config(d, &format!("{SERVER}http_server_config:\n  http2: false\n"));
    assert_eq!(http_version(&e, d), "1.1 200", "HTTP/2 with http2: false");
    // Headers on plain HTTP and on refusals too.
    let e = with_config(
        d,
        &format!(
            "{headers}basic_auth_users:\n  alice: '{}'\n",
            bcrypt::hash("a", 4).unwrap()
        ),
    );
    let (code, text) = curl(&format!("http://127.0.0.1:{}/", e.addr().port()), &[]);
    assert_eq!(code, 401);
    assert!(
        text.to_ascii_lowercase().contains("x-frame-options: deny"),
        "{text}"
    );
    refused_at_start(
        "http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n",
        "X-Frame-Options",
    );
    refused_at_start(
        "http_server_config:\n  headers:\n    Server: x\n",
        "http_server_config.headers",
    );
}

#[test]
fn rate_limit_answers_429_over_its_burst() {
    let dir = tempfile::tempdir().unwrap();
    let e = with_config(dir.path(), "rate_limit:\n  interval: 1h\n  burst: 3\n");
    let url = format!("http://127.0.0.1:{}/", e.addr().port());
    let codes: Vec<u16> = (0..5).map(|_| curl(&url, &[]).0).collect();
    assert_eq!(codes, [200, 200, 200, 429, 429]);
    drop(e);
    let e = with_config(dir.path(), "rate_limit:\n  interval: 0\n  burst: 1\n");
    let url = format!("http://127.0.0.1:{}/", e.addr().port());
    assert!(
        (0..5).all(|_| curl(&url, &[]).0 == 200),
        "interval 0 is off"
    );
    refused_at_start(
        "rate_limit:\n  interval: 1s\n  burst: 0\n",
        "rate_limit.burst",
    );
}

/// exporter-toolkit's sample file (docs/web-config.yml): TLS from two
/// files, two bcrypt users, a rate limit of 20 with one more a second;
/// here with our own certificates and passwords.
#[test]
fn the_formats_sample_file() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let d = dir.path();
    let (alice, bob) = (
        bcrypt::hash("alice-pw", 10).unwrap(),
        bcrypt::hash("bob-pw", 10).unwrap(),
    );
    let e = with_config(
        d,
        &format!(
            "# TLS and basic authentication configuration example.\n#\n\
             # Additionally, a certificate and a key file are needed.\n\
             tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\n\
             # Usernames and passwords required to connect.\n\
             basic_auth_users:\n  alice: {alice}\n  bob: {bob}\n\n\
             # Rate limiting requests on the endpoint using a token bucket\n\
             rate_limit:\n  interval: \"1s\" # time interval between two requests\n  \
             burst: 20 # and permits a burst of up to 20 requests.\n"
        ),
    );
    assert_eq!(curl_tls(&e, d, None, &["-u", "alice:alice-pw"]).0, 200);
    assert_eq!(curl_tls(&e, d, None, &["-u", "bob:bob-pw"]).0, 200);
    assert_eq!(curl_tls(&e, d, None, &["-u", "bob:alice-pw"]).0, 401);
    assert_eq!(curl_tls(&e, d, None, &[]).0, 401);
}

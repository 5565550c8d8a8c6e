//! `--web.config.file`: TLS (with a required client certificate) and basic
//! auth, refusals that leak nothing and leave the server up, reload on
//! SIGHUP, unknown keys refused at start. Certificates come from `openssl`,
//! requests from `curl` (both installed by scripts/bootstrap).

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

/// A CA, a server certificate for 127.0.0.1 and a client certificate,
/// all signed by the CA, in `dir`.
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

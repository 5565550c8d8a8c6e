//! The harness with Docker containers (images built by scripts/images, which
//! these tests run themselves). Without Docker these tests FAIL, unless
//! CHRONY_TESTKIT_NO_DOCKER=1 is set: then they print that they are skipped.

#[path = "harness_common.rs"]
mod common;

use chrony_testkit::harness::{self, Backend, ChronydBuilder, Suite};

/// Whether to run; panics with a clear message when docker is unusable.
fn docker_ready(suite: Suite) -> bool {
    if std::env::var("CHRONY_TESTKIT_NO_DOCKER").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: docker test for {suite} (CHRONY_TESTKIT_NO_DOCKER=1)");
        return false;
    }
    if let Err(e) = harness::docker_available() {
        panic!(
            "docker is required for this test: {e}\n\
             (set CHRONY_TESTKIT_NO_DOCKER=1 to skip the docker tests)"
        );
    }
    if let Err(e) = harness::ensure_images(&[suite]) {
        panic!("cannot build the chronyd image for {suite}: {e}");
    }
    true
}

fn version(suite: Suite) {
    let c = ChronydBuilder::new()
        .backend(Backend::Docker(suite))
        .servers(1)
        .start()
        .unwrap_or_else(|e| panic!("start failed: {e}"));
    let v = c.chrony_version();
    eprintln!("{suite}: chrony {v}");
    if suite == Suite::Sid {
        // Unstable moves on; only require a 4.x.
        assert!(v.starts_with("4."), "{v}");
    } else {
        assert_eq!(v, suite.chrony_version());
    }
    let out = c.chronyc(&["tracking"]).expect("tracking");
    assert_eq!(
        out.split(',').nth(1),
        Some(c.server_address(0).to_string().as_str()),
        "{out}"
    );
}

#[test]
fn docker_bullseye() {
    if docker_ready(Suite::Bullseye) {
        version(Suite::Bullseye);
        common::lifecycle(Backend::Docker(Suite::Bullseye));
        common::udp_command(Backend::Docker(Suite::Bullseye));
    }
}

#[test]
fn docker_bookworm_lifecycle() {
    if docker_ready(Suite::Bookworm) {
        common::lifecycle(Backend::Docker(Suite::Bookworm));
    }
}

#[test]
fn docker_bookworm_udp_command() {
    if docker_ready(Suite::Bookworm) {
        common::udp_command(Backend::Docker(Suite::Bookworm));
    }
}

#[test]
fn docker_bookworm_rtc() {
    if docker_ready(Suite::Bookworm) {
        common::rtc(Backend::Docker(Suite::Bookworm));
    }
}

#[test]
fn docker_bookworm_no_sync() {
    if docker_ready(Suite::Bookworm) {
        common::no_sync(Backend::Docker(Suite::Bookworm));
    }
}

#[test]
fn docker_bookworm_version() {
    if docker_ready(Suite::Bookworm) {
        version(Suite::Bookworm);
    }
}

#[test]
fn docker_trixie() {
    if docker_ready(Suite::Trixie) {
        version(Suite::Trixie);
        common::lifecycle(Backend::Docker(Suite::Trixie));
        common::udp_command(Backend::Docker(Suite::Trixie));
    }
}

#[test]
fn docker_sid() {
    if docker_ready(Suite::Sid) {
        version(Suite::Sid);
        common::lifecycle(Backend::Docker(Suite::Sid));
        common::udp_command(Backend::Docker(Suite::Sid));
    }
}

//! The harness with host chronyd processes.

#[path = "harness_common.rs"]
mod common;

use chrony_testkit::harness::Backend;

#[test]
fn process_lifecycle() {
    common::lifecycle(Backend::Process);
}

#[test]
fn process_udp_command() {
    common::udp_command(Backend::Process);
}

#[test]
fn process_rtc() {
    common::rtc(Backend::Process);
}

#[test]
fn process_no_sync() {
    common::no_sync(Backend::Process);
}

/// `CHRONY_TESTKIT_STARTS_FILE`: a chronyd start appends the binary and
/// the test's name (what `scripts/matrix` counts). The starting side runs
/// in a child process (this test again, with the variable set), so the
/// variable never changes in this process.
#[test]
fn process_starts_file_names_the_test() {
    const TEST: &str = "process_starts_file_names_the_test";
    if std::env::var_os("CHRONY_TESTKIT_STARTS_FILE").is_some() {
        let d = chrony_testkit::harness::ChronydBuilder::new()
            .backend(Backend::Process)
            .servers(0)
            .start()
            .expect("start");
        drop(d);
        return;
    }
    let dir = std::env::temp_dir().join(format!("chrony-testkit-starts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("starts");
    let _ = std::fs::remove_file(&file);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--test-threads=1"])
        .env("CHRONY_TESTKIT_STARTS_FILE", &file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&file).expect("the child's start was recorded");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(text, format!("harness_process::{TEST}\n"));
}

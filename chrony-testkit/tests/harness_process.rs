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

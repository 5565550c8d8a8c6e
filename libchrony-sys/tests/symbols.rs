//! The committed bindings cover every `chrony_*` symbol the linked library
//! exports, and the enum values are those the library itself uses (read
//! back from its DWARF debug info and its error strings).
use libchrony_sys as sys;
use std::collections::BTreeSet;
use std::process::Command;

/// Path of the libchrony shared object mapped into this process.
fn loaded_library() -> String {
    // Make sure the library is loaded (and referenced) before reading maps.
    // SAFETY: no arguments; returns a count.
    let n = unsafe { sys::chrony_get_number_supported_reports() };
    assert_eq!(n, 10, "libchrony 0.2 serves ten reports");
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("libchrony"))
        .unwrap_or_else(|| panic!("libchrony is not mapped into the test process:\n{maps}"))
        .to_string()
}

fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd} (scripts/bootstrap installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn bound_functions() -> BTreeSet<String> {
    include_str!("../src/bindings.rs")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub fn "))
        .map(|l| l.split('(').next().unwrap().trim().to_string())
        .collect()
}

#[test]
fn every_exported_function_has_a_binding() {
    let lib = loaded_library();
    let exported: BTreeSet<String> = tool("nm", &["-D", "--defined-only", &lib])
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
            (kind == "T" && name.starts_with("chrony_")).then(|| name.to_string())
        })
        .collect();
    assert_eq!(
        exported.len(),
        24,
        "libchrony 0.2 exports 24 chrony_* functions: {exported:?}"
    );
    let bound = bound_functions();
    let missing: Vec<_> = exported.difference(&bound).collect();
    let extra: Vec<_> = bound.difference(&exported).collect();
    assert!(missing.is_empty(), "exported but not bound: {missing:?}");
    assert!(extra.is_empty(), "bound but not exported: {extra:?}");
}

#[test]
fn every_binding_links() {
    // Taking each function's address makes the linker resolve it.
    let fns: [usize; 24] = [
        sys::chrony_open_socket as *const () as usize,
        sys::chrony_close_socket as *const () as usize,
        sys::chrony_get_number_supported_reports as *const () as usize,
        sys::chrony_get_report_name as *const () as usize,
        sys::chrony_get_error_string as *const () as usize,
        sys::chrony_init_session as *const () as usize,
        sys::chrony_deinit_session as *const () as usize,
        sys::chrony_get_fd as *const () as usize,
        sys::chrony_needs_response as *const () as usize,
        sys::chrony_process_response as *const () as usize,
        sys::chrony_request_report_number_records as *const () as usize,
        sys::chrony_get_report_number_records as *const () as usize,
        sys::chrony_request_record as *const () as usize,
        sys::chrony_get_record_number_fields as *const () as usize,
        sys::chrony_get_field_name as *const () as usize,
        sys::chrony_get_field_index as *const () as usize,
        sys::chrony_get_field_type as *const () as usize,
        sys::chrony_get_field_content as *const () as usize,
        sys::chrony_get_field_uinteger as *const () as usize,
        sys::chrony_get_field_integer as *const () as usize,
        sys::chrony_get_field_float as *const () as usize,
        sys::chrony_get_field_timespec as *const () as usize,
        sys::chrony_get_field_string as *const () as usize,
        sys::chrony_get_field_constant_name as *const () as usize,
    ];
    assert!(fns.iter().all(|&f| f != 0));
    assert_eq!(
        fns.iter().collect::<BTreeSet<_>>().len(),
        24,
        "24 distinct functions"
    );
    assert_eq!(bound_functions().len(), 24);
}

/// Parses `pahole -E -C NAME` output into (constant, value) pairs.
fn dwarf_enum(lib: &str, name: &str) -> Vec<(String, u32)> {
    tool("pahole", &["-E", "-C", name, lib])
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().trim_end_matches(',').split_once('=')?;
            Some((k.trim().to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn enum_values_match_the_library() {
    let lib = loaded_library();
    let bindings = include_str!("../src/bindings.rs");
    for (ty, expected_len) in [
        ("chrony_err", 15),
        ("chrony_field_type", 6),
        ("chrony_field_content", 21),
    ] {
        let values = dwarf_enum(&lib, ty);
        assert_eq!(values.len(), expected_len, "{ty}: {values:?}");
        for (constant, value) in values {
            let line = format!("pub const {ty}_{constant}: {ty} = {value};");
            assert!(bindings.contains(&line), "bindings lack `{line}`");
        }
    }
    // And the values are what the library means: spot-check through its own
    // error strings and report list.
    let text = |e: sys::chrony_err| {
        // SAFETY: returns a static string for any value.
        let p = unsafe { sys::chrony_get_error_string(e) };
        assert!(!p.is_null());
        // SAFETY: static NUL-terminated string.
        unsafe { std::ffi::CStr::from_ptr(p) }
            .to_string_lossy()
            .into_owned()
    };
    assert_eq!(text(sys::chrony_err_CHRONY_OK), "Success");
    assert_eq!(text(sys::chrony_err_CHRONY_UNAUTHORIZED), "Not authorized");
    assert_eq!(text(sys::chrony_err_CHRONY_DISABLED), "Disabled");
    assert_eq!(
        text(sys::chrony_err_CHRONY_INVALID_RESPONSE),
        "Invalid response"
    );
}

#[test]
fn report_names() {
    let mut names = Vec::new();
    // SAFETY: no arguments.
    let n = unsafe { sys::chrony_get_number_supported_reports() };
    for i in 0..n {
        // SAFETY: i < n; static string.
        let p = unsafe { sys::chrony_get_report_name(i) };
        // SAFETY: static NUL-terminated string.
        names.push(
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned(),
        );
    }
    names.sort();
    assert_eq!(
        names,
        [
            "activity",
            "authdata",
            "ntpdata",
            "rtcdata",
            "selectdata",
            "serverstats",
            "smoothing",
            "sources",
            "sourcestats",
            "tracking"
        ]
    );
}

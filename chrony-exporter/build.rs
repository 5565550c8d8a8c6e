//! Passes the libchrony version libchrony-sys found (pkg-config) to the
//! code, for chrony_exporter_build_info.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_CHRONY_VERSION");
    let version = std::env::var("DEP_CHRONY_VERSION").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=CHRONY_EXPORTER_LIBCHRONY_VERSION={version}");
}

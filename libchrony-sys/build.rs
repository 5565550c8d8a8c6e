//! Finds libchrony and (with the `bindgen` feature) generates the bindings.
//!
//! Order: `LIBCHRONY_LIB_DIR` (+ `LIBCHRONY_INCLUDE_DIR`, `LIBCHRONY_STATIC`),
//! then pkg-config `libchrony` (unless `LIBCHRONY_NO_PKG_CONFIG` is set), else a
//! clear error. On docs.rs (`DOCS_RS` set) nothing is linked.
use std::env;
use std::path::PathBuf;

const MIN_VERSION: &str = "0.1";

fn main() {
    for var in [
        "LIBCHRONY_LIB_DIR",
        "LIBCHRONY_INCLUDE_DIR",
        "LIBCHRONY_STATIC",
        "LIBCHRONY_NO_PKG_CONFIG",
        "DOCS_RS",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=src/bindings.rs");

    if env::var_os("DOCS_RS").is_some() {
        // docs.rs has no libchrony: document the committed bindings, link nothing.
        return;
    }

    let include_dirs = find_library();
    for dir in &include_dirs {
        println!("cargo:include={}", dir.display());
    }
    generate(&include_dirs);
}

/// Emits the link lines; returns the directories that may hold `chrony.h`.
fn find_library() -> Vec<PathBuf> {
    if let Some(lib_dir) = env::var_os("LIBCHRONY_LIB_DIR") {
        let lib_dir = PathBuf::from(lib_dir);
        let kind = if env::var("LIBCHRONY_STATIC").map(|v| v != "0").unwrap_or(false) {
            "static"
        } else {
            "dylib"
        };
        println!("cargo:rustc-link-search=native={}", lib_dir.display());
        println!("cargo:rustc-link-lib={kind}=chrony");
        let include = env::var_os("LIBCHRONY_INCLUDE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| lib_dir.join("../include"));
        return vec![include];
    }

    let pkg_error = if env::var_os("LIBCHRONY_NO_PKG_CONFIG").is_some() {
        "pkg-config disabled by LIBCHRONY_NO_PKG_CONFIG".to_string()
    } else {
        let statik = env::var("LIBCHRONY_STATIC").map(|v| v != "0").unwrap_or(false);
        match pkg_config::Config::new()
            .atleast_version(MIN_VERSION)
            .statik(statik)
            .probe("libchrony")
        {
            Ok(lib) => return lib.include_paths,
            Err(e) => e.to_string(),
        }
    };

    panic!(
        "\n\nlibchrony-sys: could not find libchrony (>= {MIN_VERSION}).\n\
         pkg-config said: {pkg_error}\n\n\
         Install it one of these ways:\n\
         \x20 * Fedora/RHEL:  dnf install libchrony-devel\n\
         \x20 * from source:  make && make install prefix=/usr/local   (installs libchrony.pc)\n\
         \x20 * Debian, in this repository:  ./scripts/bootstrap   (installs .deps/libchrony)\n\
         or point LIBCHRONY_LIB_DIR (and LIBCHRONY_INCLUDE_DIR) at an existing build,\n\
         or PKG_CONFIG_PATH at the directory holding libchrony.pc.\n"
    );
}

#[cfg(not(feature = "bindgen"))]
fn generate(_include_dirs: &[PathBuf]) {}

#[cfg(feature = "bindgen")]
fn generate(include_dirs: &[PathBuf]) {
    let header = include_dirs
        .iter()
        .map(|d| d.join("chrony.h"))
        .find(|p| p.is_file());
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("bindings.rs");
    let Some(header) = header else {
        println!(
            "cargo:warning=feature `bindgen` is on but no chrony.h was found in {include_dirs:?}; \
             using the committed bindings"
        );
        std::fs::copy("src/bindings.rs", &out).expect("copy committed bindings");
        return;
    };
    println!("cargo:rerun-if-changed={}", header.display());
    builder(&header)
        .generate()
        .expect("bindgen failed on chrony.h")
        .write_to_file(&out)
        .expect("write bindings");
}

/// The one bindgen configuration; `scripts/regen-bindings.sh` uses the same
/// flags on the command line.
#[cfg(feature = "bindgen")]
fn builder(header: &std::path::Path) -> bindgen::Builder {
    bindgen::Builder::default()
        .header(header.to_string_lossy())
        .allowlist_function("chrony_.*")
        .allowlist_type("chrony_.*")
        .allowlist_var("CHRONY_.*")
        .default_enum_style(bindgen::EnumVariation::Consts)
        .blocklist_type("timespec")
        .blocklist_type("__.*")
        .raw_line("pub use libc::timespec;")
        .opaque_type("chrony_session_t")
        .layout_tests(false)
        .generate_comments(false)
        .use_core()
        .formatter(bindgen::Formatter::Rustfmt)
}

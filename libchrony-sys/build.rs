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
        // docs.rs has no libchrony: document the committed bindings, link
        // nothing (with `bindgen`, OUT_DIR gets the committed file).
        committed_bindings();
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
        let kind = if env::var("LIBCHRONY_STATIC")
            .map(|v| v != "0")
            .unwrap_or(false)
        {
            "static"
        } else {
            "dylib"
        };
        if kind == "dylib" {
            runtime_path(&lib_dir);
        }
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
        let statik = env::var("LIBCHRONY_STATIC")
            .map(|v| v != "0")
            .unwrap_or(false);
        match pkg_config::Config::new()
            .atleast_version(MIN_VERSION)
            .statik(statik)
            .probe("libchrony")
        {
            Ok(lib) => {
                // For dependents (DEP_CHRONY_VERSION): the version pkg-config
                // found, e.g. for a build-info metric.
                println!("cargo:version={}", lib.version);
                if !statik {
                    for dir in &lib.link_paths {
                        runtime_path(dir);
                    }
                }
                return lib.include_paths;
            }
            Err(e) => e.to_string(),
        }
    };

    // Not a panic: no backtrace in the way of the message.
    eprintln!("{}", not_found_message(&pkg_error));
    std::process::exit(1);
}

/// What a user sees when libchrony is missing: every way to provide it,
/// none of which needs a file outside this crate.
fn not_found_message(pkg_error: &str) -> String {
    format!(
        "\n\nlibchrony-sys: could not find libchrony (>= {MIN_VERSION}), the C library \
         for monitoring chronyd.\n\
         pkg-config said: {pkg_error}\n\n\
         Provide it one of these ways:\n\
         \x20 * Fedora/RHEL: dnf install libchrony-devel\n\
         \x20 * from source (https://gitlab.com/chrony/libchrony; needs make, cc, libtool):\n\
         \x20     make && make install prefix=$HOME/.local\n\
         \x20     export PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig   (holds libchrony.pc)\n\
         \x20   binaries run outside cargo also need LD_LIBRARY_PATH=$HOME/.local/lib\n\
         \x20 * an existing build, without pkg-config:\n\
         \x20     LIBCHRONY_LIB_DIR=/dir/with/libchrony.so     (required)\n\
         \x20     LIBCHRONY_INCLUDE_DIR=/dir/with/chrony.h     (default: $LIBCHRONY_LIB_DIR/../include)\n\
         \x20     LIBCHRONY_STATIC=1    link libchrony.a statically (libchrony is LGPL-2.1-or-later:\n\
         \x20                           distributing such a binary obliges you to let users relink it)\n\
         \x20     LIBCHRONY_NO_PKG_CONFIG=1    never ask pkg-config\n"
    )
}

/// Makes `cargo run`/`cargo test` (and nextest) find a libchrony that lives
/// outside the system library directories (such as the `.deps/` prefix of
/// `scripts/bootstrap`) without LD_LIBRARY_PATH: Cargo adds link-search
/// directories inside the target directory to the run-time library path, so
/// the shared objects are symlinked into OUT_DIR and that directory is
/// searched first. Executables copied elsewhere still need the library on
/// the system path (or LD_LIBRARY_PATH), as with any shared library.
fn runtime_path(lib_dir: &std::path::Path) {
    let system = [
        "/lib",
        "/lib64",
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/usr/local/lib64",
    ];
    if system
        .iter()
        .any(|d| lib_dir.starts_with(d) && lib_dir.components().count() <= 4)
    {
        return;
    }
    let Some(out) = env::var_os("OUT_DIR") else {
        return;
    };
    let runtime = PathBuf::from(out).join("runtime-lib");
    let _ = std::fs::remove_dir_all(&runtime);
    if std::fs::create_dir_all(&runtime).is_err() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(lib_dir) else {
        return;
    };
    let mut linked = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("libchrony.so") {
            let target = std::fs::canonicalize(entry.path()).unwrap_or(entry.path());
            linked |= std::os::unix::fs::symlink(target, runtime.join(&name)).is_ok();
        }
    }
    if linked {
        println!("cargo:rustc-link-search=native={}", runtime.display());
    }
}

#[cfg(not(feature = "bindgen"))]
fn generate(_include_dirs: &[PathBuf]) {}

/// With `bindgen`, `src/lib.rs` includes `OUT_DIR/bindings.rs`: give it the
/// committed bindings when nothing is generated (docs.rs, no header).
fn committed_bindings() {
    if cfg!(feature = "bindgen") {
        let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("bindings.rs");
        std::fs::copy("src/bindings.rs", &out).expect("copy committed bindings");
    }
}

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
        committed_bindings();
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

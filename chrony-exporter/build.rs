//! Passes build facts to the code for chrony_exporter_build_info: the
//! libchrony version libchrony-sys found (pkg-config), and the git
//! revision and branch of the source ("unknown" outside a git checkout,
//! e.g. a source tarball; CHRONY_EXPORTER_REVISION and
//! CHRONY_EXPORTER_BRANCH override them, as a packager may set).
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_CHRONY_VERSION");
    let version = std::env::var("DEP_CHRONY_VERSION").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=CHRONY_EXPORTER_LIBCHRONY_VERSION={version}");

    for var in ["CHRONY_EXPORTER_REVISION", "CHRONY_EXPORTER_BRANCH"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    // Rebuilt when HEAD moves (a commit, a checkout).
    for path in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let revision = std::env::var("CHRONY_EXPORTER_REVISION")
        .ok()
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let branch = std::env::var("CHRONY_EXPORTER_BRANCH")
        .ok()
        .or_else(|| git(&["rev-parse", "--abbrev-ref", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CHRONY_EXPORTER_REVISION={revision}");
    println!("cargo:rustc-env=CHRONY_EXPORTER_BRANCH={branch}");
}

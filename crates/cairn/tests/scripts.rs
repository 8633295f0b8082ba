//! The README's test command on a fresh machine: `scripts/test` installs
//! Chromium and chromedriver itself when they are missing and it runs as
//! root or in CI, and otherwise fails (never skips) saying what is missing.
//! Run with a `PATH` holding only what the script needs before that point,
//! and an `apt-get` that records its arguments instead of installing.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory for `PATH` with `dirname`, an `id` answering `uid`, and an
/// `apt-get` that appends its arguments to `apt.log` and installs nothing.
fn bin_dir(dir: &Path, uid: u32) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    symlink("/usr/bin/dirname", bin.join("dirname")).unwrap();
    let log = dir.join("apt.log");
    let scripts = [
        ("id", format!("#!/bin/bash\necho {uid}\n")),
        (
            "apt-get",
            format!("#!/bin/bash\necho \"$*\" >> '{}'\n", log.display()),
        ),
    ];
    for (name, text) in scripts {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// Runs `scripts/test` with only `bin` on `PATH`; exit code, stderr and the
/// recorded `apt-get` calls.
fn run_script(dir: &Path, bin: &Path, ci: Option<&str>) -> (i32, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test");
    let mut cmd = Command::new("/bin/bash");
    cmd.arg(script).env_clear().env("PATH", bin);
    if let Some(ci) = ci {
        cmd.env("CI", ci);
    }
    let out = cmd.output().unwrap();
    let apt = std::fs::read_to_string(dir.join("apt.log")).unwrap_or_default();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        apt,
    )
}

#[test]
fn as_root_it_installs_chromium_and_chromedriver_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    let bin = bin_dir(dir.path(), 0);
    let (code, stderr, apt) = run_script(dir.path(), &bin, None);
    assert!(apt.contains("update"), "apt-get update not run: {apt:?}");
    assert!(
        apt.lines()
            .any(|l| l.contains("install") && l.contains("chromium chromium-driver")),
        "apt-get install not run: {apt:?}"
    );
    // The fake installed nothing, so the script then fails, never skips.
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("chromedriver is required"), "{stderr}");
}

#[test]
fn in_ci_it_installs_them_without_being_root() {
    let dir = tempfile::tempdir().unwrap();
    let bin = bin_dir(dir.path(), 1000);
    let (_, _, apt) = run_script(dir.path(), &bin, Some("true"));
    assert!(apt.contains("chromium chromium-driver"), "{apt:?}");
}

#[test]
fn otherwise_it_fails_saying_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let bin = bin_dir(dir.path(), 1000);
    let (code, stderr, apt) = run_script(dir.path(), &bin, None);
    assert_eq!(apt, "", "apt-get must not run as a user outside CI");
    assert_eq!(code, 1);
    assert!(
        stderr.contains("apt-get install chromium chromium-driver"),
        "{stderr}"
    );
}

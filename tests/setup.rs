//! The machine check that `make run`, `make test` and `.ci/run` start with (scripts/deps.sh):
//! on a machine that lacks a tool and cannot install it, `make run` stops before compiling and
//! names every missing package; on a machine that has everything it says nothing.
//!
//! The "machine" is a PATH of our own: links to every command on this one except those a case
//! removes, and a fake `cargo` that leaves a mark if anything starts it.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A folder of links to every command on PATH but `without` (and never apt-get, apt or sudo:
/// the case is a machine where nothing can be installed), plus a `cargo` that writes `marker`.
fn fake_path(dir: &Path, without: &[&str], marker: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin folder");
    let mut skip: HashSet<&str> = ["apt-get", "apt", "sudo", "cargo"].into();
    skip.extend(without);
    let path = std::env::var("PATH").unwrap_or_default();
    let mut seen = HashSet::new();
    for folder in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if skip.contains(name.as_str()) || !seen.insert(name.clone()) {
                continue;
            }
            // The first of a name on PATH wins, as in a shell.
            let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
        }
    }
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        format!("#!/bin/sh\ntouch '{}'\nexit 0\n", marker.display()),
    )
    .expect("fake cargo");
    make_executable(&cargo);
    bin
}

fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn run(cmd: &mut Command) -> (Output, String) {
    let out = cmd.output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[test]
fn make_run_without_cmake_stops_before_compiling_and_names_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("cargo-started");
    let bin = fake_path(dir.path(), &["cmake"], &marker);
    let (out, stderr) = run(Command::new(bin.join("make"))
        .args(["--no-print-directory", "-C"])
        .arg(repo())
        .arg("run")
        .env("PATH", &bin)
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS"));
    assert!(!out.status.success(), "make run must fail: {stderr}");
    assert!(stderr.contains("  cmake:"), "names cmake: {stderr}");
    assert!(
        stderr.contains("sudo apt-get install -y cmake"),
        "gives the command that installs it: {stderr}"
    );
    assert!(!marker.exists(), "cargo must not start: {stderr}");
}

#[test]
fn every_missing_package_is_named_in_one_message_and_one_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("cargo-started");
    let bin = fake_path(dir.path(), &["cmake", "sox", "chromium"], &marker);
    let (out, stderr) = run(Command::new(repo().join("scripts/deps.sh"))
        .arg("test")
        .env("PATH", &bin));
    assert!(!out.status.success(), "{stderr}");
    for pkg in ["cmake", "sox", "chromium"] {
        assert!(
            stderr.contains(&format!("  {pkg}:")),
            "names {pkg}: {stderr}"
        );
    }
    let install_lines: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("apt-get install"))
        .collect();
    assert_eq!(install_lines.len(), 1, "{stderr}");
    for pkg in ["cmake", "sox", "chromium"] {
        assert!(install_lines[0].contains(pkg), "{stderr}");
    }
    // The run level does not ask for what only the tests need.
    let (out, stderr) = run(Command::new(repo().join("scripts/deps.sh"))
        .arg("run")
        .env("PATH", &bin));
    assert!(!out.status.success());
    assert!(
        !stderr.contains("sox") && !stderr.contains("chromium"),
        "{stderr}"
    );
}

#[test]
fn an_old_node_is_named_with_the_version_needed_and_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("cargo-started");
    let bin = fake_path(dir.path(), &["node"], &marker);
    let node = bin.join("node");
    std::fs::write(&node, "#!/bin/sh\necho v18.19.0\n").expect("fake node");
    make_executable(&node);
    let (out, stderr) = run(Command::new(repo().join("scripts/deps.sh"))
        .arg("run")
        .env("PATH", &bin));
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Node.js 20.19 or newer") && stderr.contains("found: 18.19.0"),
        "{stderr}"
    );
}

#[test]
fn with_everything_present_it_says_nothing() {
    for level in ["run", "test"] {
        let (out, stderr) = run(Command::new(repo().join("scripts/deps.sh"))
            .arg(level)
            // Were anything missing, fail rather than install from inside a test.
            .env("B24WA_DEPS_INSTALL", "0"));
        assert!(out.status.success(), "deps.sh {level}: {stderr}");
        assert_eq!(stderr, "", "deps.sh {level}");
        assert!(out.stdout.is_empty(), "deps.sh {level}");
    }
}

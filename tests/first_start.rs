//! A person's first minutes with `make run`: the service says where the admin app is and, while
//! nobody can log in yet, how to create the first administrator; the command it names works, its
//! output can be piped without escape codes, and the hint is gone once a user exists.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

const PASSWORD: &str = "correct horse battery";

fn b24wa(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_b24wa"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // A file that does not exist yet, without `?mode=rwc`: it is created.
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/db/b24wa.db", dir.display()),
        )
        .env("B24WA_DATA_DIR", dir.join("data"))
        .env("B24WA_PORT", "0")
        .env("B24WA_TRANSCRIBE_MODEL", "off")
        .current_dir(dir);
    cmd
}

/// Starts `b24wa serve` and returns the lines it printed up to and including the first-start
/// hint's last line, or up to the admin app's line when no hint follows it within `settle`.
fn serve_until_ready(dir: &Path, settle: Duration) -> (Child, Vec<String>) {
    let mut child = b24wa(dir)
        .arg("serve")
        .env("B24WA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn b24wa serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    // The build and migrations of a first start take a moment.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        let admin = line.contains("admin app:");
        lines.push(line);
        if admin {
            break;
        }
    }
    while let Ok(line) = rx.recv_timeout(settle) {
        let last = line.contains("then log in");
        lines.push(line);
        if last {
            break;
        }
    }
    (child, lines)
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn first_start_says_how_to_log_in_and_the_command_it_names_works() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (child, lines) = serve_until_ready(dir.path(), Duration::from_secs(10));
    stop(child);
    let text = lines.join("\n");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("b24wa listening on http://127.0.0.1:")),
        "{text}"
    );
    let admin = lines
        .iter()
        .find(|l| l.contains("admin app:"))
        .unwrap_or_else(|| panic!("no admin app line: {text}"));
    assert!(admin.trim_end().ends_with("/admin/"), "{text}");
    let create = lines
        .iter()
        .find(|l| l.contains(" user create --email "))
        .unwrap_or_else(|| panic!("no user create command: {text}"));
    assert!(create.contains("--role support"), "{text}");
    assert!(text.contains("no users yet"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no escape codes in a pipe: {text:?}"
    );
    assert!(
        dir.path().join("db/b24wa.db").is_file(),
        "the SQLite file was created"
    );

    // The command it names, as a person pastes it (the password on standard input here).
    let mut child = b24wa(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "you@example.com",
            "--role",
            "support",
        ])
        // Log lines there are, but on standard error and without colour codes.
        .env("B24WA_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn b24wa user create");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("user create");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(
        stdout.lines().count(),
        1,
        "only its result on stdout: {stdout}"
    );
    assert!(
        stdout.starts_with("created user ") && stdout.contains("<you@example.com> (support)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );

    // Once somebody can log in, the hint is gone.
    let (child, lines) = serve_until_ready(dir.path(), Duration::from_secs(2));
    stop(child);
    let text = lines.join("\n");
    assert!(text.contains("admin app:"), "{text}");
    assert!(!text.contains("no users yet"), "{text}");
}

//! What the binary's tests share: a free port, `palinsesto serve` started and read until it is
//! ready, tokens, Ctrl-C.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_palinsesto");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `palinsesto serve` and waits for its "listening" line; returns the child and what it printed.
pub fn serve(data: &Path, port: u16) -> (Child, Vec<String>) {
    serve_with(data, port, &[])
}

/// `serve` with more arguments (`--demo`), waiting up to two minutes for it to be ready.
pub fn serve_with(data: &Path, port: u16, more: &[&str]) -> (Child, Vec<String>) {
    serve_with_env(data, port, more, &[])
}

/// `serve_with`, the child also given the environment variables `env` (network API bases,
/// `META_VERIFY_TOKEN`, `PUBLIC_BASE_URL`, ...).
pub fn serve_with_env(
    data: &Path,
    port: u16,
    more: &[&str],
    env: &[(&str, &str)],
) -> (Child, Vec<String>) {
    let (child, _, lines) = serve_logging_env(data, port, more, "warn", env);
    (child, lines)
}

/// `serve` with `more` arguments and `RUST_LOG` = `log`, read up to its ready line: the child,
/// the rest of its output (the log lines that follow), and what it printed until then.
pub fn serve_logging(
    data: &Path,
    port: u16,
    more: &[&str],
    log: &str,
) -> (Child, BufReader<ChildStdout>, Vec<String>) {
    serve_logging_env(data, port, more, log, &[])
}

/// `serve_logging` with the environment variables `env` set for the child.
pub fn serve_logging_env(
    data: &Path,
    port: u16,
    more: &[&str],
    log: &str,
    env: &[(&str, &str)],
) -> (Child, BufReader<ChildStdout>, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .args(more)
        .env("RUST_LOG", log)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut lines = Vec::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines.push(line.trim_end().to_owned());
        if line.starts_with("Press Ctrl-C") {
            return (child, out, lines);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not say it was ready: {lines:?}");
}

pub fn token(data: &Path) -> String {
    token_for(data, "demo")
}

pub fn token_for(data: &Path, brand: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "--brand", brand, "--role", "owner", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Alone on standard output, so `TOKEN=$(palinsesto token ...)` works.
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    stdout.trim().to_owned()
}

pub fn interrupt(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "Ctrl-C must be a clean exit, got {exit}");
}

//! Child processes with deadlines.

use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs `cmd` with `stdin` as its input and returns its output, or panics
/// with what it printed if it does not finish within `timeout`.
pub fn run(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = child.id();
    let mut input = child.stdin.take().expect("piped stdin");
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        // A child that exits early closes the pipe; its output says why.
        let _ = input.write_all(&stdin);
    });
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(timeout) {
        Ok(result) => result.unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}")),
        Err(_) => {
            kill(pid);
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
    };
    let _ = writer.join();
    output
}

/// Runs `cmd` and panics with its stderr unless it exits successfully.
pub fn run_ok(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Vec<u8> {
    let output = run(cmd, stdin, timeout);
    assert!(
        output.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Sends SIGKILL to `pid` (best effort: it may have exited already).
pub fn kill(pid: u32) {
    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
}

/// Sends SIGSTOP or SIGCONT to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill(1) runs");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Reads everything a child wrote to a pipe (for diagnostics).
pub fn drain(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

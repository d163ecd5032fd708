//! End-to-end tests of the `introbot` binary: one test binary (one link)
//! with a module per area.

mod attacks;
mod attacks_redteam;
mod cli;
mod corpus;
mod crash;
mod demo;
mod deploy;
#[path = "support/mailstack.rs"]
mod mailstack;
mod real_mail;
mod requests;
mod stress;
#[path = "support/stress.rs"]
mod stress_harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn introbot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_introbot"))
}

/// Runs the binary and returns its output, failing the test if it cannot start.
pub fn run(args: &[&str], dir: &Path) -> Output {
    introbot().args(args).current_dir(dir).env_remove("RUST_LOG").output().expect("introbot runs")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every `.eml` in a directory, parsed: (recipients header, subject, text).
pub fn emails_in(dir: &Path) -> Vec<(PathBuf, String, String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).expect("readable");
        let msg = mail_parser::MessageParser::default().parse(&raw).expect("our mail parses");
        let to = msg.header_raw("To").unwrap_or_default().trim().to_owned();
        let subject = msg.subject().unwrap_or_default().to_owned();
        let text = msg.body_text(0).unwrap_or_default().into_owned();
        out.push((path, to, subject, text));
    }
    out
}

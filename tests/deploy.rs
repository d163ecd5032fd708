//! The systemd unit and the daemon's side of it: `systemd-analyze verify`
//! and `security` on `deploy/introbot.service`, and the sd_notify messages
//! a `Type=notify` service must send.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn unit() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/introbot.service")
}

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    // verify checks that ExecStart= exists: point it at the binary under test.
    let dir = tempfile::tempdir().expect("tempdir");
    let text =
        std::fs::read_to_string(unit()).expect("unit").replace("/usr/bin/introbot", env!("CARGO_BIN_EXE_introbot"));
    let copy = dir.path().join("introbot.service");
    std::fs::write(&copy, text).expect("write");
    // The man page it names ships in the package, not on this machine.
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .expect("systemd-analyze is installed");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).trim().is_empty(), "warnings: {}", stderr(&out));
}

#[test]
fn the_unit_scores_ok_on_systemd_analyze_security() {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(unit())
        .output()
        .expect("systemd-analyze is installed");
    let text = stdout(&out);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for introbot.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in:\n{text}{}", stderr(&out)));
    assert!(score <= 2.0, "exposure {score} > 2.0:\n{text}");
}

#[test]
fn the_daemon_tells_systemd_it_is_ready_and_stopping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("introbot.toml"),
        "[bot]\naddress = \"intros@example.com\"\ndata_dir = \"state\"\n[connectors]\nallow = [\"carol@example.com\"]\n[maildir]\npath = \"inbox\"\n[outbox_dir]\npath = \"sent\"\n",
    )
    .expect("config");
    let socket_path = d.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut daemon = introbot()
        .args(["run", "--config", "introbot.toml"])
        .current_dir(d)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "2000000")
        .env("WATCHDOG_PID", "")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("daemon starts");
    let mut received = String::new();
    let mut buf = [0u8; 512];
    while !received.contains("READY=1") {
        let n = socket.recv(&mut buf).expect("a notification before the timeout");
        received.push_str(&String::from_utf8_lossy(&buf[..n]));
        received.push('\n');
    }
    // With a 2 s watchdog the loop must ping at least every second.
    let n = socket.recv(&mut buf).expect("a watchdog ping");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1"));
    Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().expect("kill");
    let status = daemon.wait().expect("exits");
    while !received.contains("STOPPING=1") {
        let Ok(n) = socket.recv(&mut buf) else { break };
        received.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(status.success(), "{status:?}");
    assert!(received.contains("STOPPING=1"), "{received}");
}

#[test]
fn install_sh_puts_everything_where_a_sysadmin_expects_and_keeps_an_existing_config() {
    let dest = tempfile::tempdir().expect("tempdir");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/install.sh");
    let install = || {
        Command::new("bash")
            .arg(&script)
            .env("DESTDIR", dest.path())
            .env("INTROBOT_BIN", env!("CARGO_BIN_EXE_introbot"))
            .output()
            .expect("bash runs")
    };
    let out = install();
    assert!(out.status.success(), "{}", stderr(&out));
    for path in [
        "usr/bin/introbot",
        "usr/lib/systemd/system/introbot.service",
        "etc/introbot/introbot.toml",
        "usr/share/introbot/templates/consent_request.txt.j2",
        "usr/share/doc/introbot/README.md",
        "usr/share/doc/introbot/examples/maildir.conf",
        "usr/share/man/man1/introbot.1.gz",
        "usr/share/man/man1/introbot-check.1.gz",
        "usr/share/bash-completion/completions/introbot",
        "usr/share/zsh/vendor-completions/_introbot",
        "usr/share/fish/vendor_completions.d/introbot.fish",
    ] {
        assert!(dest.path().join(path).exists(), "{path} missing");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| std::fs::metadata(dest.path().join(p)).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode("etc/introbot/credentials"), 0o700, "passwords: root only");
    assert_eq!(mode("etc/introbot/introbot.toml"), 0o644, "the service's dynamic user reads the config");
    let bash =
        std::fs::read_to_string(dest.path().join("usr/share/bash-completion/completions/introbot")).expect("read");
    assert!(bash.contains("suppress") && !bash.contains("generate-docs"), "completions offer the documented commands");
    let config = dest.path().join("etc/introbot/introbot.toml");
    std::fs::write(&config, "# mine\n").expect("write");
    let again = install();
    assert!(again.status.success());
    assert_eq!(std::fs::read_to_string(&config).expect("read"), "# mine\n", "an existing config is kept");
}

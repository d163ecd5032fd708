//! Crashes at chosen moments in local mode (Maildir in, outbox directory
//! out): `INTROBOT_FAILPOINT` makes `run --once` SIGKILL itself at a named
//! point (src/failpoint.rs), and a consumer takes the published `.eml`
//! files between runs, the way a pickup agent would.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;

use super::*;

const CONFIG: &str = r#"
[bot]
address = "intros@example.com"
data_dir = "state"
[connectors]
allow = ["carol@example.com"]
[maildir]
path = "inbox"
[outbox_dir]
path = "sent"
[limits]
intros_per_connector_per_day = 100000000
"#;

fn request(i: usize) -> String {
    format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: Intro: Alice{i} Able <> Bob{i} Busy\r\n\
         Message-ID: <crash-req-{i}@example.com>\r\n\r\nBob{i} Busy <bob{i}@example.org>\r\n\r\n---------- Forwarded message ---------\r\n\
         From: Alice{i} Able <alice{i}@example.net>\r\nSubject: Intro: Alice{i} Able <> Bob{i} Busy\r\nTo: carol@example.com\r\n\r\nHi Carol, I'd love to meet Bob{i}.\r\n"
    )
}

/// `run --once`, with a failpoint armed or not.
fn run_once(dir: &Path, failpoint: Option<&str>) -> Output {
    let mut cmd = introbot();
    cmd.args(["run", "--once", "--config", "introbot.toml"]).current_dir(dir).env("RUST_LOG", "introbot=warn");
    match failpoint {
        Some(f) => cmd.env("INTROBOT_FAILPOINT", f),
        None => cmd.env_remove("INTROBOT_FAILPOINT"),
    };
    cmd.output().expect("introbot runs")
}

/// Moves every published `.eml` into `taken/`; returns how many names it
/// had taken before (each one an email shown to the consumer twice).
fn take(dir: &Path) -> usize {
    let taken = dir.join("taken");
    std::fs::create_dir_all(&taken).expect("taken dir");
    let mut again = 0;
    for e in std::fs::read_dir(dir.join("sent")).expect("sent dir").flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().ends_with(".eml") {
            continue;
        }
        if taken.join(&name).exists() {
            again += 1;
        }
        std::fs::rename(e.path(), taken.join(&name)).expect("take");
    }
    again
}

#[test]
fn crashes_at_every_point_lose_nothing_and_never_publish_a_file_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("introbot.toml"), CONFIG).expect("config");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(d.join("inbox").join(sub)).expect("maildir");
    }
    // Each round delivers requests, then crashes `run --once` at one point;
    // the consumer takes what was published after every run.
    // Rounds of many requests leave several batches between handling and
    // publishing when the crash comes: 200 requests are 7 batches, written
    // in 2 groups at least (4 at most per group).
    let rounds = [
        // First, while nothing older waits in the inbox: a later group is
        // written while the first (of new requests) waits to be published.
        ("publish_paused:1,batch_synced:2", 200),
        ("outbox_published:7", 8),
        ("inbound_committed:4", 8),
        ("send_accepted:5", 8),
        ("batch_synced:1", 8),
        ("outbox_published:1", 8),
        ("batch_filed:1", 8),
        ("send_accepted:1", 8),
        ("group_half_written:1", 8),
        ("outbox_published:200", 200),
        ("batch_filed:2", 200),
        ("group_half_written:2", 200),
    ];
    let mut requests = 0;
    let mut shown_twice = 0;
    for (round, (point, per_round)) in rounds.iter().enumerate() {
        for _ in 0..*per_round {
            let name = format!("{}.{requests}.crash", 1_700_000_000 + requests);
            std::fs::write(d.join("inbox/new").join(name), request(requests)).expect("deliver");
            requests += 1;
        }
        let out = run_once(d, Some(point));
        assert_eq!(
            out.status.signal(),
            Some(9),
            "round {round}: {point} was not reached (status {:?})\n{}",
            out.status,
            stderr(&out)
        );
        assert!(stderr(&out).contains("failpoint reached"), "{}", stderr(&out));
        shown_twice += take(d);
    }
    // A run without crashes finishes everything.
    let out = run_once(d, None);
    assert!(out.status.success(), "{}", stderr(&out));
    shown_twice += take(d);

    assert_eq!(shown_twice, 0, "an email was published again after the consumer took it");
    let left: Vec<String> = std::fs::read_dir(d.join("sent"))
        .expect("sent dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "staged files left behind: {left:?}");
    // Exactly the emails every request causes, once each: the
    // acknowledgement to the connector and one consent note per party.
    let mut per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for (_, to, _, _) in emails_in(&d.join("taken")) {
        *per_recipient.entry(to).or_default() += 1;
    }
    let got = |who: &str| per_recipient.iter().filter(|(to, _)| to.contains(who)).map(|(_, n)| *n).sum::<usize>();
    assert_eq!(got("<carol@example.com>"), requests, "one acknowledgement per request: {per_recipient:?}");
    for i in 0..requests {
        for who in [format!("<alice{i}@example.net>"), format!("<bob{i}@example.org>")] {
            assert_eq!(got(&who), 1, "{who}: one consent note");
        }
    }
    assert_eq!(per_recipient.values().sum::<usize>(), 3 * requests, "{per_recipient:?}");
    // Every request is an open intro, once, and the store opens cleanly.
    let list = run(&["list", "--json", "--config", "introbot.toml"], d);
    assert!(list.status.success(), "{}", stderr(&list));
    let intros = stdout(&list).lines().count();
    assert_eq!(intros, requests, "{}", stdout(&list));
    let inbox_left = std::fs::read_dir(d.join("inbox/new")).expect("dir").count();
    assert_eq!(inbox_left, 0, "every request was filed");
}

#[test]
fn a_misspelt_failpoint_is_reported_and_crashes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("introbot.toml"), CONFIG).expect("config");
    let out = run_once(d, Some("after_comit:1"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("names no failpoint"), "{}", stderr(&out));
}

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// Mounts one at `at`, or `None` where this process may not mount.
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).expect("mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status();
        status.is_ok_and(|s| s.success()).then(|| Tmpfs(at.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn wait_for(what: &str, timeout: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_full_disk_under_the_store_is_reported_waited_out_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let Some(_fs) = Tmpfs::mount(&d.join("state"), "4m") else {
        // CI runs as root; a developer's unprivileged run cannot mount.
        assert!(!is_root(), "running as root but cannot mount a tmpfs");
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let config = CONFIG
        .replace("[maildir]\npath = \"inbox\"\n", "[maildir]\npath = \"inbox\"\npoll_interval = \"200ms\"\n")
        + "[timing]\nbackoff_max = \"1s\"\n";
    std::fs::write(d.join("introbot.toml"), config).expect("config");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(d.join("inbox").join(sub)).expect("maildir");
    }
    let deliver = |i: usize| {
        std::fs::write(d.join("inbox/new").join(format!("{}.{i}.disk", 1_700_000_000 + i)), request(i))
            .expect("deliver")
    };
    let published = || emails_in(&d.join("sent")).len();
    let waiting = || std::fs::read_dir(d.join("inbox/new")).map(|e| e.count()).unwrap_or(0);
    let log = std::fs::File::create(d.join("introbot.log")).expect("log");
    let mut daemon = introbot()
        .args(["run", "--config", "introbot.toml"])
        .current_dir(d)
        .env("RUST_LOG", "introbot=info")
        .env("NO_COLOR", "1")
        .stderr(log)
        .spawn()
        .expect("daemon starts");
    let read_log = || std::fs::read_to_string(d.join("introbot.log")).unwrap_or_default();
    let secs = std::time::Duration::from_secs;

    for i in 0..3 {
        deliver(i);
    }
    wait_for("the first emails", secs(30), || published() == 9);
    // Fill the store's file system to the last byte.
    let mut filler = std::fs::File::create(d.join("state/filler")).expect("filler");
    let block = vec![0u8; 64 * 1024];
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    drop(filler);
    for i in 3..9 {
        deliver(i);
    }
    wait_for("the error", secs(30), || read_log().contains("No space left on device"));
    // It reports, names the store, backs off, and keeps running; nothing
    // it could not record is filed away or sent meanwhile.
    wait_for("a few backoffs", secs(30), || read_log().matches("reopening the store after a backoff").count() >= 3);
    assert!(daemon.try_wait().expect("status").is_none(), "the daemon gave up:\n{}", read_log());
    let text = read_log();
    assert!(text.contains("cannot write the store at") && text.contains("state"), "{text}");
    // (sled may have had room for a message or two before the error.)
    let filed = 6 - waiting();
    assert!(filed < 6, "the full disk stopped nothing:\n{text}");
    assert_eq!(published(), 9 + 3 * filed, "emails went out only for messages recorded and filed");

    // Space comes back: it carries on by itself.
    std::fs::remove_file(d.join("state/filler")).expect("free the space");
    wait_for("the rest", secs(60), || published() == 27 && waiting() == 0);
    assert!(read_log().contains("store reopened; carrying on"), "{}", read_log());
    let _ = std::process::Command::new("kill").arg(daemon.id().to_string()).status();
    let _ = daemon.wait();

    // Nothing lost, nothing twice, and the store opens cleanly.
    let mut per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for (_, to, _, _) in emails_in(&d.join("sent")) {
        *per_recipient.entry(to).or_default() += 1;
    }
    for i in 0..9 {
        for who in [format!("<alice{i}@example.net>"), format!("<bob{i}@example.org>")] {
            let got: usize = per_recipient.iter().filter(|(to, _)| to.contains(&who)).map(|(_, n)| n).sum();
            assert_eq!(got, 1, "{who}: one consent note, got {got}");
        }
    }
    let list = run(&["list", "--json", "--config", "introbot.toml"], d);
    assert!(list.status.success(), "{}", stderr(&list));
    assert_eq!(stdout(&list).lines().count(), 9, "{}", stdout(&list));
}

fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

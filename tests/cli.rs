//! The CLI against a local Maildir and outbox directory: `run --once`,
//! `list`, `show`, `cancel`, and the errors a person sees.

use super::*;

const CONFIG: &str = r#"
[bot]
address = "intros@example.com"
data_dir = "state"
[connectors]
allow = ["carol@example.com"]
[maildir]
path = "inbox"
poll_interval = "200ms"
[outbox_dir]
path = "sent"
"#;

const REQUEST: &str = "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: Intro: Alice <> Bob\r\nMessage-ID: <req-1@example.com>\r\n\r\nBob Busy <bob@example.org>\r\n\r\n---------- Forwarded message ---------\r\nFrom: Alice Able <alice@example.net>\r\nSubject: Intro: Alice <> Bob\r\nTo: carol@example.com\r\n\r\nHi Carol, I'd love to meet Bob.\r\n";

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("introbot.toml"), CONFIG).expect("config");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.path().join("inbox").join(sub)).expect("maildir");
    }
    dir
}

/// Starts the daemon in `dir`, its log appended to `dir/daemon.log`.
fn spawn_daemon(dir: &Path) -> std::process::Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("daemon.log")).expect("log");
    introbot()
        .args(["run", "--config", "introbot.toml"])
        .current_dir(dir)
        .env("RUST_LOG", "introbot=debug")
        .stderr(log)
        .spawn()
        .expect("daemon starts")
}

/// Waits until the daemon's log in `dir` holds `needle` `n` times (or 20 s);
/// returns how many times it does.
fn wait_log(dir: &Path, needle: &str, n: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default().matches(needle).count();
        if found >= n || std::time::Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until the daemon filed away everything in its inbox, then until it
/// is between cycles (it serves `list` only then), so the cycle that filed
/// the last message has sent its emails too.
fn wait_settled(dir: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let waiting = || {
        ["new", "cur"]
            .iter()
            .map(|s| std::fs::read_dir(dir.join("inbox").join(s)).map_or(0, |d| d.count()))
            .sum::<usize>()
    };
    while waiting() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(waiting(), 0, "the daemon took everything in its inbox");
    let list = run(&["list", "--config", "introbot.toml"], dir);
    assert!(list.status.success(), "{}", stderr(&list));
}

fn deliver(dir: &Path, name: &str, raw: &str) {
    std::fs::write(dir.join("inbox/new").join(name), raw).expect("deliver");
}

#[test]
fn run_once_list_show_cancel() {
    let dir = setup();
    let d = dir.path();
    deliver(d, "1.request", REQUEST);
    deliver(d, "2.garbage", "\u{0}\u{1} this is not mail");
    let out = run(&["run", "--once", "--config", "introbot.toml"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(emails_in(&d.join("sent")).len(), 3, "ack and two consent notes");
    assert_eq!(std::fs::read_dir(d.join("inbox/new")).expect("dir").count(), 0, "inbox emptied");
    assert_eq!(std::fs::read_dir(d.join("inbox/.introbot.processed/cur")).expect("dir").count(), 1);
    assert_eq!(std::fs::read_dir(d.join("inbox/.introbot.failed/cur")).expect("dir").count(), 1);

    let list = run(&["list", "--config", "introbot.toml"], d);
    let table = stdout(&list);
    assert!(
        table.contains("Alice Able") && table.contains("awaiting_consent") && table.contains("Alice, Bob"),
        "{table}"
    );
    let json = run(&["list", "--json", "--state", "awaiting_consent", "--config", "introbot.toml"], d);
    let intro: serde_json::Value = serde_json::from_str(stdout(&json).trim()).expect("one json line");
    let id = intro["id"].as_str().expect("id").to_owned();
    assert_eq!(intro["target"]["email"], "bob@example.org");
    let none = run(&["list", "--state", "introduced", "--config", "introbot.toml"], d);
    assert!(stdout(&none).contains("no intros in state introduced"));

    let show = run(&["show", &id, "--config", "introbot.toml"], d);
    assert!(stdout(&show).contains("target asked"), "{}", stdout(&show));
    assert!(stdout(&show).contains("consent_request  to bob@example.org"), "{}", stdout(&show));

    let cancel = run(&["cancel", &id, "--config", "introbot.toml"], d);
    assert!(cancel.status.success(), "{}", stderr(&cancel));
    assert!(stdout(&cancel).contains("cancelled"));
    let out = run(&["run", "--once", "--config", "introbot.toml"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let emails = emails_in(&d.join("sent"));
    assert_eq!(emails.len(), 6, "plus two nothing-needed notes and the outcome");
    assert!(emails.iter().any(|(_, to, s, _)| to.contains("carol@") && s.ends_with("cancelled")));

    let missing = run(&["show", "nosuchid", "--config", "introbot.toml"], d);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("no intro \"nosuchid\""), "{}", stderr(&missing));
}

#[test]
fn list_into_a_pipe_closed_early_ends_quietly() {
    let dir = setup();
    deliver(dir.path(), "1.eml", REQUEST);
    let once = run(&["run", "--once", "--config", "introbot.toml"], dir.path());
    assert!(once.status.success(), "{}", stderr(&once));
    // `introbot list | head -0`: the reader is gone before anything is written.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let list = introbot()
        .args(["list", "--config", "introbot.toml"])
        .current_dir(dir.path())
        .stdout(writer)
        .output()
        .expect("list runs");
    assert!(list.status.success(), "exit {:?}: {}", list.status, stderr(&list));
    assert!(!stderr(&list).contains("panicked"), "{}", stderr(&list));
}

#[test]
fn a_bad_config_names_the_file_and_key() {
    let dir = setup();
    std::fs::write(dir.path().join("bad.toml"), CONFIG.replace("[connectors]", "[connectors]\nalow = []"))
        .expect("write");
    let out = run(&["run", "--once", "--config", "bad.toml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.toml") && err.contains("alow"), "{err}");
    let out = run(&["check", "--config", "missing.toml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot read config missing.toml"), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "each cause once: {err}");
}

#[test]
fn check_reports_each_part() {
    let dir = setup();
    let out = run(&["check", "--config", "introbot.toml"], dir.path());
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    for line in [
        "ok   config",
        "ok   templates render",
        "ok   store state: will be created on first start",
        "ok   maildir inbox",
        "ok   outbox directory sent: will be created on first start",
    ] {
        assert!(text.contains(line), "{line:?} missing:\n{text}");
    }
    assert!(!dir.path().join("state").exists(), "check creates no store");
}

#[test]
fn as_root_the_cli_leaves_a_store_owned_by_another_user_to_that_user() {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: only root can open another user's store (CI runs as root)");
        return;
    }
    let dir = setup();
    let d = dir.path();
    deliver(d, "1.request", REQUEST);
    assert!(run(&["run", "--once", "--config", "introbot.toml"], d).status.success());
    // As systemd's StateDirectory= for the dynamic user: another owner, root-only parents.
    let status = Command::new("chown").args(["-R", "65534:65534"]).arg(d.join("state")).status().expect("chown");
    assert!(status.success());
    let list = run(&["list", "--config", "introbot.toml"], d);
    assert!(stdout(&list).contains("awaiting_consent"), "{}", stderr(&list));
    let suppress = run(&["suppress", "add", "mallory@example.net", "--config", "introbot.toml"], d);
    assert!(suppress.status.success(), "{}", stderr(&suppress));
    let check = run(&["check", "--config", "introbot.toml"], d);
    assert!(check.status.success(), "{}", stdout(&check));
    let mut foreign = Vec::new();
    let mut dirs = vec![d.join("state")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable").flatten() {
            let meta = entry.metadata().expect("metadata");
            if meta.uid() != 65534 {
                foreign.push(entry.path());
            }
            if meta.is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    assert!(foreign.is_empty(), "files the store's owner cannot use: {foreign:?}");
}

#[test]
fn list_show_cancel_and_suppress_work_while_the_daemon_runs() {
    let dir = setup();
    let d = dir.path();
    let mut daemon = spawn_daemon(d);
    deliver(d, "1.request", REQUEST);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while emails_in(&d.join("sent")).len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let json = run(&["list", "--json", "--config", "introbot.toml"], d);
    assert!(json.status.success(), "through the control socket: {}", stderr(&json));
    let intro: serde_json::Value = serde_json::from_str(stdout(&json).trim()).expect("one json line");
    let id = intro["id"].as_str().expect("id").to_owned();
    let show = run(&["show", &id, "--config", "introbot.toml"], d);
    assert!(stdout(&show).contains("target asked"), "{}", stderr(&show));
    let check = run(&["check", "--config", "introbot.toml"], d);
    assert!(check.status.success(), "{}", stdout(&check));
    assert!(stdout(&check).contains("ok   store state: in use by the running service"), "{}", stdout(&check));
    let suppress = run(&["suppress", "add", "Mallory@Example.net", "--config", "introbot.toml"], d);
    assert!(suppress.status.success(), "{}", stderr(&suppress));
    let listed = run(&["suppress", "list", "--config", "introbot.toml"], d);
    assert!(stdout(&listed).contains("mallory@example.net"), "{}", stdout(&listed));
    let cancel = run(&["cancel", &id, "--config", "introbot.toml"], d);
    assert!(stdout(&cancel).contains("cancelled"), "{}", stderr(&cancel));
    // The running daemon sends the cancellation notes at once.
    while emails_in(&d.join("sent")).len() < 6 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status();
    let _ = daemon.wait();
    assert_eq!(emails_in(&d.join("sent")).len(), 6, "two nothing-needed notes and the outcome");
    assert!(!d.join("state/introbot.sock").exists(), "the socket is removed on exit");
    // Stopped: the same commands open the store directly.
    let removed = run(&["suppress", "remove", "mallory@example.net", "--config", "introbot.toml"], d);
    assert!(removed.status.success(), "{}", stderr(&removed));
}

#[test]
fn a_locked_store_without_a_daemon_is_explained_in_one_line() {
    let dir = setup();
    // A daemon holds the store, but its control socket is gone, so nothing
    // answers there.
    let mut daemon = spawn_daemon(dir.path());
    let socket = dir.path().join("state/introbot.sock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !socket.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::remove_file(&socket).expect("the daemon made its socket");
    let out = run(&["list", "--config", "introbot.toml"], dir.path());
    let _ = Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status();
    let _ = daemon.wait();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("is introbot running?") && err.contains("does not answer"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn the_daemon_picks_up_new_mail_and_stops_on_sigterm() {
    let dir = setup();
    let mut daemon = spawn_daemon(dir.path());
    deliver(dir.path(), "1.request", REQUEST);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while emails_in(&dir.path().join("sent")).len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let sent = emails_in(&dir.path().join("sent")).len();
    let pid = daemon.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(killed.success());
    let status = daemon.wait().expect("daemon exits");
    assert_eq!(sent, 3, "the running daemon handled the request");
    assert!(status.success(), "SIGTERM is a clean exit: {status:?}");
}

fn wait_for_emails(dir: &Path, n: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while emails_in(&dir.join("sent")).len() < n && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    emails_in(&dir.join("sent")).len()
}

#[test]
fn sighup_reloads_a_good_config_and_keeps_the_old_one_when_the_new_is_bad() {
    let dir = setup();
    let d = dir.path();
    let mut daemon = spawn_daemon(d);
    let hup = |pid: u32| Command::new("kill").args(["-HUP", &pid.to_string()]).status().expect("kill");
    // Running, and listening for signals: a HUP now reloads rather than kills.
    assert_eq!(wait_log(d, "introbot started", 1), 1);
    // New config: Dan may ask too, and the acknowledgement has new words.
    std::fs::create_dir_all(d.join("templates")).expect("mkdir");
    std::fs::write(
        d.join("templates/acknowledgement.txt.j2"),
        "Subject: Reloaded ack\n\nGot it, {{ connector.first_name }}.\n",
    )
    .expect("template");
    let reloaded = CONFIG
        .replace("allow = [\"carol@example.com\"]", "allow = [\"carol@example.com\", \"dan@example.com\"]")
        .replace("data_dir = \"state\"", "data_dir = \"state\"\ntemplates = \"templates\"");
    std::fs::write(d.join("introbot.toml"), reloaded).expect("config");
    hup(daemon.id());
    assert_eq!(wait_log(d, "configuration reloaded", 1), 1, "the daemon says it took the new config");
    deliver(d, "1.request", &REQUEST.replace("carol@example.com>\r\nTo: intros", "dan@example.com>\r\nTo: intros"));
    assert_eq!(wait_for_emails(d, 3), 3, "Dan is a connector now");
    assert!(emails_in(&d.join("sent")).iter().any(|(_, _, s, _)| s == "Reloaded ack"), "new template in use");

    // A broken config is refused; the daemon keeps going with the last good one.
    std::fs::write(d.join("introbot.toml"), "[bot]\nthis is not toml").expect("config");
    hup(daemon.id());
    assert_eq!(wait_log(d, "new configuration refused", 1), 1, "the daemon says it kept the old config");
    deliver(
        d,
        "2.request",
        &REQUEST
            .replace("req-1@", "req-2@")
            .replace("carol@example.com>\r\nTo: intros", "dan@example.com>\r\nTo: intros")
            // Another pair: the same two people are not asked twice at once.
            .replace("alice@example.net", "ann@example.net"),
    );
    assert_eq!(wait_for_emails(d, 6), 6, "still running with the reloaded config");
    let _ = Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status();
    assert!(daemon.wait().expect("exits").success());
}

#[test]
fn sigterm_mid_run_then_restart_loses_nothing_and_doubles_nothing() {
    let dir = setup();
    let d = dir.path();
    let mut daemon = spawn_daemon(d);
    deliver(d, "1.request", REQUEST);
    assert_eq!(wait_for_emails(d, 3), 3);
    let _ = Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status();
    assert!(daemon.wait().expect("exits").success());
    // While it is down, both parties answer.
    let token_of = |to: &str| {
        let emails = emails_in(&d.join("sent"));
        let path = &emails.iter().find(|(_, t, s, _)| t.contains(to) && !s.starts_with("Intro")).expect("consent").0;
        let raw = std::fs::read(path).expect("read");
        let msg = mail_parser::MessageParser::default().parse(&raw).expect("parses");
        msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).expect("reply-to").to_owned()
    };
    let (alice, bob) = (token_of("alice@example.net"), token_of("bob@example.org"));
    let yes = |from: &str, to: &str, id: &str| {
        format!("From: {from}\r\nTo: {to}\r\nSubject: Re: x\r\nMessage-ID: <{id}>\r\n\r\nYes!\r\n")
    };
    deliver(d, "2.alice", &yes("alice@example.net", &alice, "a1@x"));
    deliver(d, "3.bob", &yes("bob@example.org", &bob, "b1@x"));
    // The request again, as a server might redeliver it after a crash.
    deliver(d, "4.request-again", REQUEST);
    let mut daemon = spawn_daemon(d);
    assert_eq!(wait_for_emails(d, 5), 5);
    // All three handled (the request again recognised), their cycle done.
    wait_settled(d);
    assert_eq!(wait_log(d, "seen before", 1), 1, "the request's second copy was recognised");
    let _ = Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status();
    assert!(daemon.wait().expect("exits").success());
    let emails = emails_in(&d.join("sent"));
    assert_eq!(emails.len(), 5, "ack, 2 consent notes, introduction, outcome; nothing twice");
    assert_eq!(emails.iter().filter(|(_, _, s, _)| s == "Alice Able <> Bob").count(), 1);
}

/// `inspect`: one JSON object per line per file, in argument order whatever
/// the number of jobs; a file that cannot be read or is not a mail gives an
/// `error` object and the run goes on.
#[test]
fn inspect_keeps_argument_order_and_goes_on_after_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("not-mail.eml"), "just some words\n").expect("file");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/replies");
    let mut files: Vec<String> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    // Enough files for several batches, with the bad ones in the middle.
    let mut args: Vec<String> = files.iter().cycle().take(1200).cloned().collect();
    args.insert(600, dir.path().join("missing.eml").display().to_string());
    args.insert(601, dir.path().join("not-mail.eml").display().to_string());

    let run = |jobs: &str| {
        let out = introbot().args(["inspect", "--jobs", jobs, "reply"]).args(&args).output().expect("runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let one = run("1");
    let lines: Vec<serde_json::Value> = one.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), args.len());
    for (line, file) in lines.iter().zip(&args) {
        assert_eq!(line["file"].as_str(), Some(file.as_str()));
    }
    assert!(lines[600]["error"].as_str().is_some_and(|e| e.contains("cannot read")), "{}", lines[600]);
    assert_eq!(lines[601]["error"], "not an email message");
    assert!(lines[602]["reply_text"].is_string());
    assert_eq!(run("3"), one, "the same lines, in the same order, with three jobs");
}

//! `introbot inspect forward|request|reply FILE...`: what the bot reads in
//! a mail file, as one JSON object per line per file, in argument order.
//! A contract other tools script against (see DESIGN.md); a file that cannot
//! be read gives `{"file", "error"}` and the run goes on.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::core::Person;
use crate::mail::{self, Inbound, Mention};

/// What to inspect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inspect {
    /// The forwarded original and the note above it.
    Forward,
    /// The intro request.
    Request,
    /// The reply text and its decision.
    Reply,
}

fn mention(m: &Mention) -> Value {
    let name = if m.name.is_empty() { Value::Null } else { Value::String(m.name.clone()) };
    let email = m.email.as_ref().map_or(Value::Null, |e| Value::String(e.as_str().to_owned()));
    json!({"name": name, "email": email})
}

fn person(p: &Person) -> Value {
    mention(&Mention::from(p.clone()))
}

/// Inspects one file's bytes.
pub fn inspect_bytes(what: Inspect, file: &str, raw: &[u8]) -> Value {
    let Some(msg) = mail::inbound::parse(raw) else {
        return json!({"file": file, "error": "not an email message"});
    };
    match what {
        Inspect::Forward => match mail::forward::parse_forward(&msg) {
            Some(f) => json!({
                "file": file,
                "forwarded": true,
                "note": f.note,
                "original": {
                    "from": f.from.as_ref().map_or(Value::Null, mention),
                    "to": f.to.iter().map(mention).collect::<Vec<_>>(),
                    "cc": f.cc.iter().map(mention).collect::<Vec<_>>(),
                    "subject": f.subject,
                    "date": f.date,
                    "body": f.body,
                },
            }),
            None => {
                json!({"file": file, "forwarded": false, "note": crate::mail::body_text(&msg).unwrap_or_default().trim(), "original": Value::Null})
            }
        },
        Inspect::Request => {
            let inbound = Inbound::read(&msg, None);
            let Some(connector) = inbound.from.clone() else {
                return json!({"file": file, "ok": false, "error": "the message has no sender address", "connector": Value::Null,
                    "requester": Value::Null, "target": Value::Null, "summary": "", "note": ""});
            };
            match mail::parse_request(&msg, &connector, None) {
                Ok(r) => json!({
                    "file": file, "ok": true, "error": Value::Null,
                    "connector": person(&r.connector), "requester": person(&r.requester), "target": person(&r.target),
                    "summary": r.summary, "note": r.note,
                    // Beyond the documented fields: what each party may read
                    // of the note, and what had to be guessed.
                    "for_requester": r.for_requester, "for_target": r.for_target, "guesses": r.guesses,
                }),
                Err(e) => json!({
                    "file": file, "ok": false, "error": e.to_string(),
                    "connector": person(&connector), "requester": Value::Null, "target": Value::Null,
                    "summary": "", "note": "",
                }),
            }
        }
        Inspect::Reply => serde_json::to_value(reply_line(file, &msg)).unwrap_or(Value::Null),
    }
}

/// One `inspect reply` line, written straight from this struct (no
/// intermediate `Value`): its fields in the order `json!` gives them
/// (alphabetical), so that both write the same bytes.
#[derive(serde::Serialize)]
struct ReplyLine<'a> {
    automatic: bool,
    decision: &'static str,
    file: &'a str,
    reply_text: String,
}

fn reply_line<'a>(file: &'a str, msg: &mail_parser::Message<'_>) -> ReplyLine<'a> {
    let inbound = Inbound::read(msg, None);
    let automatic = inbound.automatic.is_some();
    let decision = if automatic { crate::core::Decision::Unclear } else { mail::decide(&inbound.text) };
    ReplyLine { automatic, decision: decision.as_str(), file, reply_text: inbound.text }
}

/// Inspects files, printing one JSON line each, in argument order.
///
/// Files are read and parsed on `jobs` threads (default: one per core, at
/// most eight; they are independent), a batch at a time so that memory
/// stays bounded however many files are named; the lines are written in
/// order as each batch completes.
pub fn run(
    what: Inspect,
    files: &[impl AsRef<Path> + Sync],
    out: &mut dyn Write,
    jobs: Option<usize>,
) -> std::io::Result<()> {
    let workers = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(8));
    const BATCH: usize = 512;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    for batch in files.chunks(BATCH) {
        let lines: Vec<String> = if workers <= 1 || batch.len() == 1 {
            batch.iter().map(|f| inspect_file(what, f.as_ref())).collect()
        } else {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let mut lines = vec![String::new(); batch.len()];
            let done: Vec<Vec<(usize, String)>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers.min(batch.len()))
                    .map(|_| {
                        scope.spawn(|| {
                            let mut mine = Vec::new();
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(file) = batch.get(i) else { break };
                                mine.push((i, inspect_file(what, file.as_ref())));
                            }
                            mine
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
            });
            for (i, line) in done.into_iter().flatten() {
                lines[i] = line;
            }
            lines
        };
        for line in lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

/// One file's JSON line.
fn inspect_file(what: Inspect, file: &Path) -> String {
    // One buffer per thread for every file it reads.
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let name = file.display().to_string();
    BUFFER.with_borrow_mut(|raw| {
        raw.clear();
        let read = open(file).and_then(|mut f| std::io::Read::read_to_end(&mut f, raw));
        match read {
            Err(e) => json!({"file": name, "error": format!("cannot read {name}: {e}")}).to_string(),
            Ok(_) if what == Inspect::Reply => match mail::inbound::parse(raw) {
                Some(msg) => serde_json::to_string(&reply_line(&name, &msg)).unwrap_or_else(|_| "null".to_owned()),
                None => inspect_bytes(what, &name, raw).to_string(),
            },
            Ok(_) => inspect_bytes(what, &name, raw).to_string(),
        }
    })
}

/// Opens `file` for reading as `File::open` does, but by its name in a
/// descriptor of its directory kept from the file before (a run mostly
/// names many files of one folder): the kernel resolves one name rather
/// than the whole path each time. A path without a directory and a name,
/// or whose directory cannot be opened, is opened as it is, so every
/// error reads as `File::open`'s.
fn open(file: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    /// The directory opened last, by its path.
    type Kept = Option<(std::path::PathBuf, std::os::fd::OwnedFd)>;
    thread_local! {
        static DIRECTORY: std::cell::RefCell<Kept> = const { std::cell::RefCell::new(None) };
    }
    // `a/b/` must be a directory: left to `File::open` to say it is not.
    let trailing_slash = std::os::unix::ffi::OsStrExt::as_bytes(file.as_os_str()).ends_with(b"/");
    let (Some(dir), Some(name), false) =
        (file.parent().filter(|d| !d.as_os_str().is_empty()), file.file_name(), trailing_slash)
    else {
        return std::fs::File::open(file);
    };
    DIRECTORY.with_borrow_mut(|kept| {
        if kept.as_ref().is_none_or(|(path, _)| path != dir) {
            *kept = rustix::fs::open(dir, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                .ok()
                .map(|fd| (dir.to_owned(), fd));
        }
        match kept {
            Some((_, fd)) => rustix::fs::openat(&*fd, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .map(std::fs::File::from)
                .map_err(|e| std::io::Error::from_raw_os_error(e.raw_os_error())),
            None => std::fs::File::open(file),
        }
    })
}

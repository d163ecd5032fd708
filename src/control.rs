//! The CLI's commands that read or change the store (`list`, `show`,
//! `cancel`, `suppress`), in one place for both ways of reaching it:
//! directly, when no daemon holds the store, or through the daemon's control
//! socket while it runs (sled locks its directory to one process).
//!
//! The socket is a unix stream socket, owner-only (0600), in the daemon's
//! runtime directory (`$RUNTIME_DIRECTORY`, else the data directory). One
//! JSON request line in, one JSON response line out. The CLI finds it from
//! the config alone: it tries the systemd unit's fixed runtime directory
//! ([`SERVICE_SOCKET`]), then the data directory, and talks only to a daemon
//! that answers [`Request::Ping`] with the same data directory.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::core::{Address, IntroId, IntroState};
use crate::engine::{Engine, EngineError};
use crate::error::Chain;
use crate::report;
use crate::store::StoreError;

/// Why a store command could not run at all (its own failures, like an
/// unknown intro id, are a [`Response`] that is not ok).
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The store or templates could not be opened.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store is held by another process, and no daemon answers on the
    /// control socket.
    #[error(
        "the store at {} is in use (is introbot running?) and its control socket {} does not answer",
        store.display(),
        socket.display()
    )]
    NoAnswer {
        /// The data directory.
        store: PathBuf,
        /// Where the daemon would listen.
        socket: PathBuf,
        /// Why asking failed.
        source: std::io::Error,
    },
    /// Running as root, the process could not become the store's owner.
    #[error("cannot act as the owner of the store at {}", store.display())]
    Owner {
        /// The data directory.
        store: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs a store command here when the store is free, or through the
/// running daemon's control socket when the daemon holds it.
pub fn run(config: Config, request: &Request, now: Timestamp) -> Result<Response, ControlError> {
    let socket = socket_path(&config);
    become_store_owner(&config.data_dir)
        .map_err(|source| ControlError::Owner { store: config.data_dir.clone(), source })?;
    match Engine::open(config) {
        Ok(engine) => Ok(execute(&engine, request, now)),
        Err(EngineError::Store(StoreError::Locked { path })) => {
            ask_daemon(&socket, request).map_err(|source| ControlError::NoAnswer { store: path, socket, source })
        }
        Err(e) => Err(e.into()),
    }
}

/// A command for the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// `introbot list`.
    List {
        /// Only this state.
        state: Option<IntroState>,
        /// JSON lines instead of a table.
        json: bool,
    },
    /// `introbot show ID`.
    Show {
        /// The intro.
        id: String,
        /// JSON instead of text.
        json: bool,
    },
    /// `introbot cancel ID`.
    Cancel {
        /// The intro.
        id: String,
    },
    /// `introbot suppress list`.
    SuppressList,
    /// `introbot suppress add ADDRESS`.
    SuppressAdd {
        /// The address.
        email: String,
    },
    /// `introbot suppress remove ADDRESS`.
    SuppressRemove {
        /// The address.
        email: String,
    },
    /// Which store does this daemon hold? Answered with its data directory,
    /// so a CLI never acts on another instance's store.
    Ping,
}

impl Request {
    /// The command's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Request::List { .. } => "list",
            Request::Show { .. } => "show",
            Request::Cancel { .. } => "cancel",
            Request::SuppressList => "suppress list",
            Request::SuppressAdd { .. } => "suppress add",
            Request::SuppressRemove { .. } => "suppress remove",
            Request::Ping => "ping",
        }
    }
}

/// What the command printed, or why it failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Whether it worked.
    pub ok: bool,
    /// Text for stdout when ok, the error for stderr otherwise.
    pub output: String,
}

impl Response {
    fn ok(output: String) -> Self {
        Self { ok: true, output }
    }

    fn err(output: impl Into<String>) -> Self {
        Self { ok: false, output: output.into() }
    }
}

/// Where the systemd unit's daemon listens: its `RuntimeDirectory=introbot`.
pub const SERVICE_SOCKET: &str = "/run/introbot/introbot.sock";

/// Where the daemon listens: `$RUNTIME_DIRECTORY` under systemd, else the
/// data directory.
pub fn listen_path(config: &Config) -> PathBuf {
    match std::env::var_os("RUNTIME_DIRECTORY") {
        // systemd may list several directories, separated by ':'.
        Some(dirs) => {
            let dirs = dirs.to_string_lossy().into_owned();
            PathBuf::from(dirs.split(':').next().unwrap_or(&dirs)).join("introbot.sock")
        }
        None => config.data_dir.join("introbot.sock"),
    }
}

/// Where the CLI finds the daemon that holds this config's store: the first
/// socket whose daemon answers for the same data directory (the unit's, then
/// one in the data directory); when none answers, the data directory's, for
/// the error message.
pub fn socket_path(config: &Config) -> PathBuf {
    let own = config.data_dir.join("introbot.sock");
    [PathBuf::from(SERVICE_SOCKET), own.clone()]
        .into_iter()
        .find(|socket| socket.exists() && serves(socket, config))
        .unwrap_or(own)
}

/// Whether the daemon behind `socket` holds this config's store.
pub fn serves(socket: &Path, config: &Config) -> bool {
    ask_daemon(socket, &Request::Ping)
        .is_ok_and(|answer| answer.ok && Path::new(&answer.output) == config.data_dir.as_path())
}

/// Makes this process the owner of the store before it opens it directly:
/// root opening the systemd service's store (owned by its dynamic user)
/// would leave root-owned files there (sled writes a snapshot even for
/// `list`), and the service, which runs without privileges, could not open
/// them. A no-op unless running as root on a store owned by another user.
///
/// The process keeps one privilege, `CAP_DAC_READ_SEARCH`, to read and walk
/// what root could: the service's store is reached through systemd's
/// root-only `/var/lib/private/`, and `check` goes on to read the Maildir and
/// credentials. The switch is the calling thread's (threads started later
/// inherit it), so it refuses in a process that already has other threads.
pub fn become_store_owner(data_dir: &Path) -> std::io::Result<()> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{CapabilitySet, CapabilitySets};
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let meta = match std::fs::metadata(data_dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if meta.uid() == 0 {
        return Ok(());
    }
    let threads = std::fs::read_dir("/proc/self/task")?.count();
    if threads != 1 {
        return Err(std::io::Error::other(format!(
            "cannot switch to the owner of {} with {threads} threads running",
            data_dir.display()
        )));
    }
    let (uid, gid) = (Uid::from_raw(meta.uid()), Gid::from_raw(meta.gid()));
    rustix::thread::set_keep_capabilities(true)?;
    rustix::thread::set_thread_groups(&[])?;
    rustix::thread::set_thread_res_gid(gid, gid, gid)?;
    rustix::thread::set_thread_res_uid(uid, uid, uid)?;
    let read = CapabilitySet::DAC_READ_SEARCH;
    rustix::thread::set_capabilities(
        None,
        CapabilitySets { effective: read, permitted: read, inheritable: CapabilitySet::empty() },
    )?;
    rustix::thread::set_keep_capabilities(false)?;
    Ok(())
}

/// Runs a command against an open engine.
pub(crate) fn execute(engine: &Engine, request: &Request, now: Timestamp) -> Response {
    match run_here(engine, request, now) {
        Ok(r) => r,
        Err(e) => Response::err(Chain(&e).to_string()),
    }
}

fn run_here(engine: &Engine, request: &Request, now: Timestamp) -> Result<Response, EngineError> {
    let store = engine.store();
    let text = |write: &dyn Fn(&mut Vec<u8>) -> Result<(), report::ReportError>| -> Response {
        let mut out = Vec::new();
        match write(&mut out) {
            Ok(()) => Response::ok(String::from_utf8_lossy(&out).into_owned()),
            Err(e) => Response::err(Chain(&e).to_string()),
        }
    };
    Ok(match request {
        Request::List { state, json } => text(&|out| report::list(store, *state, *json, now, out)),
        Request::Show { id, json } => match store.intro(&IntroId::new(id.clone()))? {
            Some(intro) => {
                let emails = store.emails_of(&intro.id)?;
                text(&|out| report::show(&intro, &emails, *json, out))
            }
            None => Response::err(format!("no intro {id:?}")),
        },
        Request::Cancel { id } => match engine.cancel(&IntroId::new(id.clone()), now)? {
            Some(intro) => {
                store.flush()?;
                Response::ok(format!("{}: {}\n", intro.id, intro.state))
            }
            None => Response::err(format!("no intro {id:?}")),
        },
        Request::SuppressList => {
            let mut out = String::new();
            for (email, at) in store.suppressed()? {
                let at = at.map(|t| t.to_string()).unwrap_or_default();
                out.push_str(&format!("{email}\t{at}\n"));
            }
            Response::ok(out)
        }
        Request::SuppressAdd { email } => {
            let Ok(address) = Address::parse(email) else {
                return Ok(Response::err(format!("{email:?} is not an address like bob@example.com")));
            };
            store.suppress(&address, now)?;
            store.flush()?;
            Response::ok(format!("{} will not be asked again\n", email.trim().to_ascii_lowercase()))
        }
        Request::Ping => Response::ok(engine.config().data_dir.display().to_string()),
        Request::SuppressRemove { email } => {
            // What does not parse was never added.
            let removed = match Address::parse(email) {
                Ok(address) => store.unsuppress(&address)?,
                Err(_) => false,
            };
            if removed {
                store.flush()?;
                Response::ok(format!("{} removed from the suppression list\n", email.trim().to_ascii_lowercase()))
            } else {
                Response::err(format!("{email} is not on the suppression list"))
            }
        }
    })
}

/// Sends a request to a running daemon.
fn ask_daemon(socket: &Path, request: &Request) -> std::io::Result<Response> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut line = serde_json::to_string(request).map_err(std::io::Error::other)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(std::io::Error::other)
}

/// The daemon's listening socket.
#[derive(Debug)]
pub struct ControlSocket {
    listener: tokio::net::UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    /// Binds the socket, owner-only, replacing a stale one.
    pub(crate) fn bind(path: &Path) -> std::io::Result<ControlSocket> {
        use std::os::unix::fs::PermissionsExt;
        if path.exists() {
            // We hold the store's lock, so no other daemon is using it.
            std::fs::remove_file(path)?;
        }
        let listener = tokio::net::UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        Ok(ControlSocket { listener, path: path.to_owned() })
    }

    /// Waits for the next client.
    pub(crate) async fn accept(&self) -> std::io::Result<tokio::net::UnixStream> {
        self.listener.accept().await.map(|(s, _)| s)
    }

    /// Answers one client at `now`: one request line, one response line.
    pub(crate) async fn serve(engine: &Engine, stream: tokio::net::UnixStream, now: Timestamp) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        let mut reader = BufReader::new(read);
        let read_line = reader.read_line(&mut line);
        let response = match tokio::time::timeout(std::time::Duration::from_secs(10), read_line).await {
            Ok(Ok(_)) => match serde_json::from_str::<Request>(&line) {
                Ok(request) => {
                    // The command only: its arguments may be an address.
                    tracing::info!(command = request.name(), "control request");
                    execute(engine, &request, now)
                }
                Err(e) => Response::err(format!("bad request: {e}")),
            },
            _ => return,
        };
        let mut out = serde_json::to_string(&response).unwrap_or_default();
        out.push('\n');
        let _ = write.write_all(out.as_bytes()).await;
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

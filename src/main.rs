//! The `introbot` binary: parses the command line, sets up logging, and
//! hands over to the library. Errors end here, printed with their causes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use introbot::clock::{Clock as _, SystemClock};
use introbot::config::Config;
use introbot::control::Request;
use introbot::core::IntroState;

const EXIT_CODES: &str = "Exit codes: 0 success; 1 failure (the message says what and where); 2 bad command line.\n\
list, show, cancel and suppress work whether or not the daemon runs: with the daemon running they go through its control socket.";

/// Consent-first introductions over email.
#[derive(Parser)]
#[command(version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    /// Log format on stderr: `text` for people, `json` (one object per line)
    /// for log shippers. Filter with RUST_LOG, e.g. `RUST_LOG=introbot=debug`.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: read the mailbox, act, send. Exit 0 on SIGTERM/SIGINT.
    Run {
        /// Take what is waiting (inbox, due timers, outbox), finish it, exit 0.
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Validate the config, open the store, load the templates, log in to
    /// the mail servers. Exit 0 only when the bot can run.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show the whole flow on this machine with no mail account: a throwaway
    /// mailbox, scripted people, every email and state change printed.
    Demo {
        /// Keep the demo's files in this directory instead of a temporary one.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// List intros.
    List {
        /// Only intros in this state (awaiting_consent, introduced, declined,
        /// expired, cancelled, failed).
        #[arg(long)]
        state: Option<IntroState>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show one intro and its history.
    Show {
        /// The intro id.
        id: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Cancel an intro: the connector is told, asked parties hear nothing
    /// more is needed. The emails go out on the daemon's next cycle.
    Cancel {
        /// The intro id.
        id: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show what the bot reads in mail files: one JSON object per line per
    /// file (no config needed).
    Inspect {
        /// Files read at once (default: one per core); the output order is
        /// the argument order either way.
        #[arg(short, long, global = true, value_name = "N")]
        jobs: Option<usize>,
        #[command(subcommand)]
        what: InspectWhat,
    },
    /// The suppression list: addresses that are never asked again.
    Suppress {
        #[command(subcommand)]
        action: SuppressAction,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Write the man pages and shell completions (for packaging:
    /// `deploy/build-deb` runs it on the binary it ships, so the docs match
    /// that binary and no build script slows every build).
    #[command(hide = true)]
    GenerateDocs {
        /// Directory for `man1/*.1` and `completions/{bash,zsh,fish}/`.
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum InspectWhat {
    /// The forwarded original: from, to, cc, subject, date, body, and the note above.
    Forward {
        /// Mail files (.eml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The intro request: connector, requester, target, summary, note, or what is missing.
    Request {
        /// Mail files (.eml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The visible reply text and its decision.
    Reply {
        /// Mail files (.eml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SuppressAction {
    /// Print the list.
    List,
    /// Never ask this address again.
    Add {
        /// The address.
        address: String,
    },
    /// Allow this address to be asked again.
    Remove {
        /// The address.
        address: String,
    },
}

#[derive(clap::Args)]
struct ConfigArg {
    /// The configuration file.
    #[arg(long, global = true, default_value = "/etc/introbot/introbot.toml", env = "INTROBOT_CONFIG")]
    config: PathBuf,
}

impl ConfigArg {
    fn load(&self) -> anyhow::Result<Config> {
        Ok(Config::load(&self.config)?)
    }
}

fn init_logging(default: &str, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // journald stamps every line itself.
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    match (format, journald) {
        (LogFormat::Json, _) => builder.json().init(),
        (LogFormat::Text, true) => builder.without_time().with_ansi(false).init(),
        (LogFormat::Text, false) => builder.init(),
    }
}

fn main() -> ExitCode {
    // Everything the bot creates (the store with its reply tokens, the
    // outbox, filed mail) is for its own user only, whatever umask it was
    // started with.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let quiet = !matches!(cli.command, Command::Run { .. });
    init_logging(if quiet { "warn" } else { "info" }, cli.log_format);
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("introbot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a store command here when the store is free, or through the
/// running daemon's control socket when the daemon holds it.
fn store_command(config: &ConfigArg, request: Request) -> anyhow::Result<ExitCode> {
    let response = introbot::control::run(config.load()?, &request, SystemClock.now())?;
    if response.ok {
        write_stdout(&response.output)?;
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("{}", response.output)
    }
}

/// Writes a command's output; a reader that went away early (`introbot
/// list | head`) is not an error: it has all it wanted.
fn write_stdout(output: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(output.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("cannot write to standard output"),
        _ => Ok(()),
    }
}

/// One man page per visible (sub)command, generated from the clap
/// definitions, and completion scripts where each shell looks for them.
fn generate_docs(out: &std::path::Path) -> anyhow::Result<()> {
    use clap_complete::Shell;
    let man = out.join("man1");
    std::fs::create_dir_all(&man).with_context(|| format!("cannot create {}", man.display()))?;
    clap_mangen::generate_to(documented_cli(), &man)
        .with_context(|| format!("cannot write man pages to {}", man.display()))?;
    for (shell, name) in [(Shell::Bash, "introbot"), (Shell::Zsh, "_introbot"), (Shell::Fish, "introbot.fish")] {
        let dir = out.join("completions").join(shell.to_string());
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(name);
        let mut file = std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        clap_complete::generate(shell, &mut documented_cli(), "introbot", &mut file);
    }
    Ok(())
}

/// The command line as documented: without the hidden `generate-docs`,
/// which the completion generators would otherwise offer (clap has no way
/// to remove a subcommand, so the top level is rebuilt around the rest).
fn documented_cli() -> clap::Command {
    use clap::CommandFactory;
    let full = Cli::command();
    let mut cmd = clap::Command::new("introbot").version(env!("CARGO_PKG_VERSION")).subcommand_required(true);
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    if let Some(after) = full.get_after_help() {
        cmd = cmd.after_help(after.clone());
    }
    for arg in full.get_arguments() {
        cmd = cmd.arg(arg.clone());
    }
    for sub in full.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        cmd = cmd.subcommand(sub.clone());
    }
    cmd
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { once, config } => {
            let config = config.load()?;
            runtime()?.block_on(introbot::daemon::run(config, once, &SystemClock))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => {
            let config = config.load()?;
            let ok = runtime()?.block_on(introbot::check::run(&config));
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Demo { dir } => {
            introbot::demo::run(dir.as_deref(), &mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::List { state, json, config } => store_command(&config, Request::List { state, json }),
        Command::Show { id, json, config } => store_command(&config, Request::Show { id, json }),
        Command::Cancel { id, config } => store_command(&config, Request::Cancel { id }),
        Command::Inspect { jobs, what } => {
            use introbot::inspect::{Inspect, run};
            let (kind, files) = match what {
                InspectWhat::Forward { files } => (Inspect::Forward, files),
                InspectWhat::Request { files } => (Inspect::Request, files),
                InspectWhat::Reply { files } => (Inspect::Reply, files),
            };
            run(kind, &files, &mut std::io::stdout().lock(), jobs)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::GenerateDocs { out } => {
            generate_docs(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Suppress { action, config } => store_command(
            &config,
            match action {
                SuppressAction::List => Request::SuppressList,
                SuppressAction::Add { address } => Request::SuppressAdd { email: address },
                SuppressAction::Remove { address } => Request::SuppressRemove { email: address },
            },
        ),
    }
}

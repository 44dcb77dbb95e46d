//! The `frontdesk` command: parse flags, build the app, run it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use frontdesk::crm::{MasterKey, Store};
use frontdesk::faq::{io, Faq};
use frontdesk::{Application, Config};

mod eval_command;

/// jemalloc instead of glibc's malloc: its background thread purges freed
/// pages after a few seconds, so the memory ten thousand sockets held goes
/// back to the system once they close; glibc's per-thread arenas keep
/// most of it (docs/benchmarks.md, "Idle sockets"). Pages go back one
/// second after their last use instead of ten (`.cargo/config.toml`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "frontdesk", version, about = "Customer-support chat server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Manage FAQ entries offline (the server must not be running).
    #[command(subcommand)]
    Faq(FaqCommand),
    /// Measure the models against labelled datasets.
    #[command(subcommand)]
    Eval(eval_command::EvalCommand),
    /// Find, export or erase a customer's data offline (the server must
    /// not be running; over HTTP see docs/privacy.md).
    #[command(subcommand)]
    Customer(CustomerCommand),
}

#[derive(Subcommand)]
enum CustomerCommand {
    /// The customers with this email or external id, as JSON.
    Find {
        #[arg(
            long,
            conflicts_with = "external_id",
            required_unless_present = "external_id"
        )]
        email: Option<String>,
        #[arg(long)]
        external_id: Option<String>,
    },
    /// Everything stored about a customer, as one JSON document.
    Export {
        id: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Forget a customer: their key is destroyed, then every record.
    Erase { id: String },
}

#[derive(Args, Clone, Default)]
struct Common {
    /// Directory of the store and the FAQ index.
    #[arg(long, env = "FRONTDESK_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, env = "FRONTDESK_CONFIG", global = true)]
    config: Option<PathBuf>,
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, env = "FRONTDESK_ADDR")]
    addr: Option<std::net::SocketAddr>,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand)]
enum FaqCommand {
    /// Create or update entries from a JSON, YAML or CSV file.
    Import { file: PathBuf },
    /// Write every entry to standard output (or --output).
    Export {
        #[arg(long, value_enum, default_value = "json")]
        format: io::Format,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Rebuild the search index from the store.
    Reindex,
}

/// Logging as `RUST_LOG` asks (default `info`), except that other
/// crates never log at `trace`: their traces hold websocket frames and
/// HTTP headers, so message text, emails and tokens. Ours hold none.
fn init_logging() {
    use tracing_subscriber::filter::{filter_fn, EnvFilter};
    use tracing_subscriber::prelude::*;
    let wanted =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,ort=warn"));
    // Crates that log through `log` (sled, tantivy) check this before
    // building a record: without it every trace record of every store
    // operation is built and then filtered out.
    let for_log_crates = match wanted.max_level_hint() {
        Some(l) if l <= tracing::level_filters::LevelFilter::INFO => match l.into_level() {
            None => log::LevelFilter::Off,
            Some(tracing::Level::ERROR) => log::LevelFilter::Error,
            Some(tracing::Level::WARN) => log::LevelFilter::Warn,
            Some(_) => log::LevelFilter::Info,
        },
        _ => log::LevelFilter::Debug,
    };
    let ours_or_not_trace = filter_fn(|meta| {
        *meta.level() != tracing::Level::TRACE || meta.target().starts_with("frontdesk")
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(wanted)
                .with_filter(ours_or_not_trace),
        )
        .init();
    log::set_max_level(for_log_crates);
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("frontdesk: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            None => serve(cli.serve).await,
            Some(Command::Serve(args)) => serve(args).await,
            Some(Command::Faq(cmd)) => faq(cmd, cli.serve.common).await,
            Some(Command::Eval(cmd)) => eval_command::eval(cmd, cli.serve.common).await,
            Some(Command::Customer(cmd)) => customer(cmd, cli.serve.common).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("frontdesk: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, skipping causes the message already quotes.
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

fn load_config(common: &Common) -> anyhow::Result<Config> {
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(dir) = &common.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = load_config(&args.common)?;
    if let Some(addr) = args.addr {
        config.addr = addr;
    }
    let app = Application::build(config).await?;
    let mut out = std::io::stdout().lock();
    if let Some(path) = &app.generated_master_key {
        writeln!(
            out,
            "frontdesk: generated the master key that encrypts customer data at {} \
             (keep a copy apart from the data; see docs/privacy.md)",
            path.display()
        )?;
    }
    if let Some(token) = &app.generated_operator_token {
        writeln!(
            out,
            "frontdesk: generated the operator token (shown once, keep it safe): {token}"
        )?;
    }
    writeln!(out, "frontdesk listening on http://{}", app.local_addr())?;
    out.flush()?;
    drop(out);
    app.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// The store of the configured data directory, for offline commands.
fn open_store(config: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)?;
    let (master, generated) = MasterKey::resolve(
        config.encryption.master_key.as_deref(),
        config.encryption.master_key_file.as_deref(),
        &config.data_dir,
    )?;
    if let Some(path) = generated {
        eprintln!("frontdesk: generated the master key at {}", path.display());
    }
    Ok(Store::open(&config.data_dir, &master)?)
}

async fn customer(cmd: CustomerCommand, common: Common) -> anyhow::Result<()> {
    let config = load_config(&common)?;
    let store = open_store(&config)?;
    match cmd {
        CustomerCommand::Find { email, external_id } => {
            let found = frontdesk::privacy::offline::find(&store, email, external_id).await?;
            println!("{found}");
        }
        CustomerCommand::Export { id, output } => {
            let json = frontdesk::privacy::offline::export(&store, &id).await?;
            match output {
                Some(path) => std::fs::write(&path, json)?,
                None => println!("{json}"),
            }
        }
        CustomerCommand::Erase { id } => {
            let (existed, conversations) = frontdesk::privacy::offline::erase(&store, &id).await?;
            if existed {
                println!("erased customer {id} and {conversations} conversations");
            } else {
                println!("customer {id} holds no data (already erased or never existed)");
            }
        }
    }
    store.flush()?;
    Ok(())
}

async fn faq(cmd: FaqCommand, common: Common) -> anyhow::Result<()> {
    let config = load_config(&common)?;
    let store = open_store(&config)?;
    let faq = {
        let (store, dir) = (store.clone(), config.data_dir.clone());
        tokio::task::spawn_blocking(move || Faq::open(store, &dir)).await??
    };
    match cmd {
        FaqCommand::Import { file } => {
            let format = io::Format::from_path(&file)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let drafts =
                io::parse(&text, format).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let report = faq.import(drafts).await?;
            println!(
                "imported {}: {} created, {} updated",
                file.display(),
                report.created,
                report.updated
            );
        }
        FaqCommand::Export { format, output } => {
            let text = io::render(&faq.list().await?, format)?;
            match output {
                Some(path) => std::fs::write(&path, text)?,
                None => std::io::stdout().write_all(text.as_bytes())?,
            }
        }
        FaqCommand::Reindex => {
            let n = tokio::task::spawn_blocking(move || faq.reindex_now()).await??;
            println!("reindexed {n} FAQ entries");
        }
    }
    store.flush()?;
    Ok(())
}

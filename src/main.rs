//! The `frontdesk` command: parse flags, build the app, run it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use frontdesk::crm::Store;
use frontdesk::faq::{io, Faq};
use frontdesk::{Application, Config};

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

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
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
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("frontdesk: {e:#}");
            ExitCode::FAILURE
        }
    }
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

async fn faq(cmd: FaqCommand, common: Common) -> anyhow::Result<()> {
    let config = load_config(&common)?;
    std::fs::create_dir_all(&config.data_dir)?;
    let store = Store::open(&config.data_dir)?;
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

//! The `frontdesk` command: parse flags, build the app, run it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use frontdesk::crm::{MasterKey, Store};
use frontdesk::faq::{io, Faq};
use frontdesk::{Application, Config};

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
    Eval(EvalCommand),
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

#[derive(Subcommand)]
enum EvalCommand {
    /// Intent accuracy: train on one split, test on another. A `.csv` is
    /// `text,category` (Banking77); a `.json` is CLINC150's
    /// data_oos_plus.json, whose out-of-scope thresholds are chosen on its
    /// validation split.
    Intents {
        #[arg(long)]
        train: PathBuf,
        /// Test split (CSV); for CLINC150 the same JSON file as --train.
        #[arg(long)]
        test: PathBuf,
        /// Train on this many examples per intent.
        #[arg(long)]
        shots: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Lowest in-scope accuracy on validation when choosing thresholds.
        #[arg(long, default_value_t = 0.95)]
        in_scope_floor: f64,
        #[command(flatten)]
        training: TrainingArgs,
    },
    /// Replay labelled support conversations (JSON Lines, see
    /// docs/quality.md) through the whole turn pipeline of a server on a
    /// temporary data directory; report misses, late and false
    /// escalations per reason.
    Escalation {
        file: PathBuf,
        /// Answer from this FAQ file (JSON, YAML or CSV) instead of the
        /// demo FAQ.
        #[arg(long)]
        faq: Option<PathBuf>,
        /// Show every conversation with what each turn was understood as
        /// and how the bot replied.
        #[arg(long)]
        verbose: bool,
    },
    /// Ask labelled customer questions (JSON Lines, see docs/quality.md)
    /// of a server on a temporary data directory, each as the first
    /// message of a new conversation; report right and wrong answers,
    /// suggestions and abstentions, overall and per trait.
    Faq {
        file: PathBuf,
        /// Answer from this FAQ file (JSON, YAML or CSV) instead of the
        /// demo FAQ.
        #[arg(long)]
        faq: Option<PathBuf>,
        /// List every question with what the bot did, not only the wrong
        /// answers.
        #[arg(long)]
        verbose: bool,
    },
    /// Sentiment macro-averaged recall on a labelled test set: a SemEval
    /// TSV (`id<TAB>label<TAB>text`), or TweetEval text with --labels.
    Sentiment {
        #[arg(long)]
        test: PathBuf,
        #[arg(long)]
        labels: Option<PathBuf>,
    },
}

#[derive(Args, Clone)]
struct TrainingArgs {
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    learning_rate: Option<f32>,
    #[arg(long)]
    l2: Option<f32>,
    #[arg(long)]
    scale: Option<f32>,
}

impl TrainingArgs {
    fn training(&self) -> frontdesk::nlu::classifier::Training {
        let d = frontdesk::nlu::classifier::Training::default();
        frontdesk::nlu::classifier::Training {
            epochs: self.epochs.unwrap_or(d.epochs),
            learning_rate: self.learning_rate.unwrap_or(d.learning_rate),
            l2: self.l2.unwrap_or(d.l2),
            scale: self.scale.unwrap_or(d.scale),
        }
    }
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
            Some(Command::Eval(cmd)) => eval(cmd, cli.serve.common).await,
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

async fn eval(cmd: EvalCommand, common: Common) -> anyhow::Result<()> {
    use frontdesk::eval;
    let config = load_config(&common)?;
    match &cmd {
        EvalCommand::Escalation { file, faq, verbose } => {
            use frontdesk::eval::escalation;
            let set = escalation::read_conversations(file)?;
            let server = eval::EvalServer::start(config, faq.as_deref()).await?;
            let outcomes = escalation::replay(server.app(), &set).await?;
            println!("{}: {} conversations", file.display(), set.len());
            print!("{}", escalation::report(&outcomes, *verbose));
            return Ok(());
        }
        EvalCommand::Faq { file, faq, verbose } => {
            use frontdesk::eval::faq as eval_faq;
            let set = eval_faq::read_questions(file)?;
            let server = eval::EvalServer::start(config, faq.as_deref()).await?;
            let outcomes = eval_faq::replay(server.app(), &set).await?;
            println!("{}: {} questions", file.display(), set.len());
            print!("{}", eval_faq::report(&outcomes, *verbose));
            return Ok(());
        }
        _ => {}
    }
    let settings = config.models.clone();
    let nlu = tokio::task::spawn_blocking(move || {
        frontdesk::nlu::Nlu::load(&settings.models_dir()?, settings.parallelism())
    })
    .await??;
    match cmd {
        EvalCommand::Intents {
            train,
            test,
            shots,
            seed,
            in_scope_floor,
            training,
        } => {
            let training = training.training();
            let clinc = train.extension().is_some_and(|e| e == "json");
            let mut train_set = if clinc {
                eval::read_clinc(&train, "train")?
            } else {
                eval::read_csv(&train)?
            };
            if let Some(n) = shots {
                train_set = eval::few_shot(&train_set, n, seed);
            }
            println!(
                "training on {} examples ({training:?})",
                train_set.texts.len()
            );
            let trained = eval::train(&nlu, &train_set, training).await?;
            if clinc {
                let val = eval::read_clinc(&test, "val")?;
                let oos_val = eval::read_clinc(&test, "oos_val")?;
                let pv = eval::predict(&nlu, &trained, &val.texts).await?;
                let po = eval::predict(&nlu, &trained, &oos_val.texts).await?;
                let chosen =
                    eval::choose_thresholds(&trained, &pv, &val.labels, &po, in_scope_floor);
                println!(
                    "thresholds chosen on validation: min_probability {:.3}, min_similarity {:.3} \
                     (validation: in-scope accuracy {:.4}, oos recall {:.4})",
                    chosen.min_probability,
                    chosen.min_similarity,
                    chosen.in_scope_accuracy,
                    chosen.oos_recall
                );
                let test_set = eval::read_clinc(&test, "test")?;
                let oos_test = eval::read_clinc(&test, "oos_test")?;
                let pt = eval::predict(&nlu, &trained, &test_set.texts).await?;
                let pot = eval::predict(&nlu, &trained, &oos_test.texts).await?;
                let closed = eval::accuracy(&trained, &pt, &test_set.labels);
                let s = eval::oos_score(
                    &trained,
                    &pt,
                    &test_set.labels,
                    &pot,
                    chosen.min_probability,
                    chosen.min_similarity,
                );
                println!("test: in-scope accuracy without rejection {closed:.4}");
                println!(
                    "test: in-scope accuracy {:.4}, out-of-scope recall {:.4}, out-of-scope precision {:.4}",
                    s.in_scope_accuracy, s.oos_recall, s.oos_precision
                );
            } else {
                let test_set = eval::read_csv(&test)?;
                let predictions = eval::predict(&nlu, &trained, &test_set.texts).await?;
                let acc = eval::accuracy(&trained, &predictions, &test_set.labels);
                println!("test: accuracy {acc:.4} on {} texts", test_set.texts.len());
            }
        }
        EvalCommand::Escalation { .. } | EvalCommand::Faq { .. } => unreachable!("handled above"),
        EvalCommand::Sentiment { test, labels } => {
            let (texts, truth) = eval::read_sentiment(&test, labels.as_deref())?;
            let mut predicted = Vec::with_capacity(texts.len());
            let mut negative = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(64) {
                for (_, s) in nlu.encode_many(chunk.to_vec()).await? {
                    predicted.push(s.label);
                    negative.push(s.negative);
                }
            }
            let (macro_recall, accuracy, per) = eval::sentiment_scores(&predicted, &truth);
            println!(
                "{}: {} texts, macro-averaged recall {macro_recall:.4}, accuracy {accuracy:.4}, \
                 recall negative {:.4} neutral {:.4} positive {:.4}",
                test.display(),
                texts.len(),
                per[0],
                per[1],
                per[2]
            );
            let configured = config.escalation.strong_negative;
            let mut thresholds = vec![0.9, 0.95, 0.99, configured];
            thresholds.sort_by(f32::total_cmp);
            thresholds.dedup();
            println!(
                "escalation.strong_negative: share of texts that would escalate, by true label"
            );
            for (t, [neg, neu, pos]) in eval::threshold_rates(&negative, &truth, &thresholds) {
                let mark = if t == configured {
                    "  (configured)"
                } else {
                    ""
                };
                println!(
                    "  >= {t:.2}: negative {:.1} %, neutral {:.1} %, positive {:.1} %{mark}",
                    neg * 100.0,
                    neu * 100.0,
                    pos * 100.0
                );
            }
        }
    }
    Ok(())
}

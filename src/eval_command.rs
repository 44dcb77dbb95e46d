//! `frontdesk eval`: the binary's subcommand that measures the models,
//! the FAQ answers and the escalation rules against labelled data
//! (docs/quality.md). The measuring itself is the library's
//! [`frontdesk::eval`]; this module parses the flags and prints.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::{load_config, Common};

#[derive(Subcommand)]
pub(crate) enum EvalCommand {
    /// Intent accuracy: train on one split, test on another. A `.csv` is
    /// `text,category` (Banking77); a `.json` is CLINC150's
    /// data_oos_plus.json, for which the thresholds of each out-of-scope
    /// rule are chosen on its validation split and then measured on test.
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
pub(crate) struct TrainingArgs {
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

pub(crate) async fn eval(cmd: EvalCommand, common: Common) -> anyhow::Result<()> {
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
                eval::intents::read_clinc(&train, "train")?
            } else {
                eval::intents::read_csv(&train)?
            };
            if let Some(n) = shots {
                train_set = eval::intents::few_shot(&train_set, n, seed);
            }
            println!(
                "training on {} examples ({training:?})",
                train_set.texts.len()
            );
            let trained = eval::intents::train(&nlu, &train_set, training).await?;
            if clinc {
                let val = eval::intents::read_clinc(&test, "val")?;
                let oos_val = eval::intents::read_clinc(&test, "oos_val")?;
                let pv = eval::intents::predict(&nlu, &trained, &val.texts).await?;
                let po = eval::intents::predict(&nlu, &trained, &oos_val.texts).await?;
                let rules = [
                    eval::intents::OosRule::ProbabilityAndSimilarity,
                    eval::intents::OosRule::Distance,
                ];
                let mut chosen = Vec::new();
                for rule in rules {
                    let Some(score) = eval::intents::choose_thresholds(
                        rule,
                        &trained,
                        &pv,
                        &val.labels,
                        &po,
                        in_scope_floor,
                    ) else {
                        anyhow::bail!(
                            "no {rule} thresholds keep the validation in-scope accuracy at \
                             {in_scope_floor} or above; lower --in-scope-floor"
                        );
                    };
                    println!(
                        "{rule}: thresholds chosen on validation: {} \
                         (validation: in-scope accuracy {:.4}, oos recall {:.4})",
                        rule.describe(&score.thresholds),
                        score.in_scope_accuracy,
                        score.oos_recall
                    );
                    chosen.push((rule, score.thresholds));
                }
                let test_set = eval::intents::read_clinc(&test, "test")?;
                let oos_test = eval::intents::read_clinc(&test, "oos_test")?;
                let pt = eval::intents::predict(&nlu, &trained, &test_set.texts).await?;
                let pot = eval::intents::predict(&nlu, &trained, &oos_test.texts).await?;
                let closed = eval::intents::accuracy(&trained, &pt, &test_set.labels);
                println!("test: in-scope accuracy without rejection {closed:.4}");
                for (rule, thresholds) in chosen {
                    let s =
                        eval::intents::oos_score(&trained, &pt, &test_set.labels, &pot, thresholds);
                    println!(
                        "{rule}: test: in-scope accuracy {:.4}, out-of-scope recall {:.4}, \
                         out-of-scope precision {:.4}",
                        s.in_scope_accuracy, s.oos_recall, s.oos_precision
                    );
                }
            } else {
                let test_set = eval::intents::read_csv(&test)?;
                let predictions = eval::intents::predict(&nlu, &trained, &test_set.texts).await?;
                let acc = eval::intents::accuracy(&trained, &predictions, &test_set.labels);
                println!("test: accuracy {acc:.4} on {} texts", test_set.texts.len());
            }
        }
        EvalCommand::Escalation { .. } | EvalCommand::Faq { .. } => unreachable!("handled above"),
        EvalCommand::Sentiment { test, labels } => {
            let (texts, truth) = eval::sentiment::read_sentiment(&test, labels.as_deref())?;
            let mut predicted = Vec::with_capacity(texts.len());
            let mut negative = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(64) {
                for (_, s) in nlu.encode_many(chunk.to_vec()).await? {
                    predicted.push(s.label);
                    negative.push(s.negative);
                }
            }
            let (macro_recall, accuracy, per) =
                eval::sentiment::sentiment_scores(&predicted, &truth);
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
            for (t, [neg, neu, pos]) in
                eval::sentiment::threshold_rates(&negative, &truth, &thresholds)
            {
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

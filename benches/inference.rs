//! Inference benchmark: the understanding model, the inference workers and
//! the FAQ search, through the library's public API.
//!
//!     cargo bench --bench inference
//!     FRONTDESK_BENCH_MODELS=two-pass=/dir cargo bench --bench inference
//!
//! A small hand-written harness (no criterion): each case is warmed up,
//! then run repeatedly; the table shows the median and p90 of the runs and
//! the texts per second at the median. Settings:
//!
//! - `FRONTDESK_BENCH_MODELS`: more model directories to compare, as
//!   `label=dir,label=dir`, each with `understanding.onnx` and
//!   `tokenizer.json` (e.g. the previous two-pass model merged into one
//!   graph, to compare the old and new model cost in one run).
//! - `FRONTDESK_BENCH_RUNS`: timed runs per case (default 50).
//! - `FRONTDESK_BENCH_SECONDS`: length of each model-ceiling run (default 5).
//! - `FRONTDESK_BENCH_FAQ_ENTRIES`: also time the FAQ search over the demo
//!   FAQ plus this many synthetic entries (`frontdesk::faq::synthetic`,
//!   four texts each, all embedded first), next to the demo FAQ alone, on
//!   loadgen's questions: what a large FAQ adds to a turn.
//!
//! The multilingual model's row times one message in another language
//! through its worker (`nlu::multilingual`).
//!
//! Every model case includes tokenisation. The **model ceiling** runs the
//! model in a tight loop on every core (one thread and one session per
//! core, no server, no queue): the most messages per second the machine
//! can understand. The whole server's throughput divided by this says how
//! much the server costs around the model.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use frontdesk::crm::Store;
use frontdesk::faq::Faq;
use frontdesk::nlu::model::ModelFiles;
use frontdesk::nlu::{cores, Nlu, Parallelism};

#[path = "../src/bin/loadgen/questions.rs"]
mod loadgen_questions;

/// Customer messages of typical lengths (4 to ~40 tokens).
const TEXTS: &[&str] = &[
    "How long do I have to return an item?",
    "Do you ship to Switzerland?",
    "I forgot my password and the reset email never arrives, what can I do?",
    "Hi",
    "Where is my parcel? The tracking page has not changed for four days and I need the boots for a hiking trip on Saturday.",
    "Which payment methods do you accept?",
    "My card was charged twice for the same order, please refund one of the payments",
    "Can I change the delivery address after ordering?",
    "This is the third time my order is late, I'm really annoyed",
    "Thanks, that helped a lot!",
    "Do you have a discount code for students?",
    "The zip of the jacket broke after two weeks, can I get a replacement or my money back?",
];

/// The same messages as customers in Germany, France, Spain, Italy and the
/// Netherlands might write them: what the multilingual model reads.
const OTHER_LANGUAGES: &[&str] = &[
    "Wie lange habe ich Zeit, einen Artikel zurückzuschicken?",
    "Livrez-vous en Suisse ?",
    "He olvidado mi contraseña y el correo para restablecerla nunca llega, ¿qué puedo hacer?",
    "Hallo",
    "Waar is mijn pakket? De trackingpagina is al vier dagen niet veranderd en ik heb de schoenen zaterdag nodig voor een wandeltocht.",
    "Quali metodi di pagamento accettate?",
    "Meine Karte wurde für dieselbe Bestellung zweimal belastet, bitte erstattet eine der Zahlungen",
    "Puis-je changer l'adresse de livraison après avoir commandé ?",
    "Es la tercera vez que mi pedido llega tarde, estoy muy molesto",
    "Grazie, mi è stato molto utile!",
    "Hebben jullie een kortingscode voor studenten?",
    "Der Reißverschluss der Jacke ist nach zwei Wochen kaputtgegangen, bekomme ich Ersatz oder mein Geld zurück?",
];

struct Row {
    model: String,
    case: String,
    n: usize,
    median: Duration,
    p90: Duration,
    per_second: f64,
}

/// Run `f` `warmup` times untimed, then `runs` times timed; sorted times.
fn measure(warmup: usize, runs: usize, mut f: impl FnMut(usize)) -> Vec<Duration> {
    for i in 0..warmup {
        f(i);
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    times
}

/// Nearest-rank percentile of sorted `v`.
fn percentile(v: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn row(model: &str, case: &str, n: usize, times: &[Duration]) -> Row {
    let median = percentile(times, 50.0);
    Row {
        model: model.into(),
        case: case.into(),
        n,
        median,
        p90: percentile(times, 90.0),
        per_second: n as f64 / median.as_secs_f64(),
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("inference bench: {what}: {e}");
    std::process::exit(1);
}

/// Per-message latency of the multilingual model through its worker, as a
/// turn in another language pays it.
fn bench_multilingual(dir: &Path, runs: usize, rows: &mut Vec<Row>) {
    let rt = runtime();
    let started = Instant::now();
    let model = frontdesk::nlu::multilingual::Multilingual::load(dir)
        .unwrap_or_else(|e| fail("load the multilingual model", e));
    eprintln!("multilingual: loaded in {:.2?}", started.elapsed());
    let times = measure(
        OTHER_LANGUAGES.len(),
        runs.max(OTHER_LANGUAGES.len() * 4),
        |i| {
            rt.block_on(model.embed_message(OTHER_LANGUAGES[i % OTHER_LANGUAGES.len()]))
                .unwrap_or_else(|e| fail("embed", e));
        },
    );
    rows.push(row(
        "multilingual",
        "one message in another language, its worker (latency)",
        1,
        &times,
    ));
}

/// Per-message latency on one session, and the model ceiling: every core
/// running its own session in a tight loop for `seconds`.
fn bench_model(label: &str, dir: &Path, runs: usize, seconds: f64, rows: &mut Vec<Row>) {
    let started = Instant::now();
    let files = ModelFiles::read(dir).unwrap_or_else(|e| fail(&format!("read {label}"), e));
    let mut model = files.model(1).unwrap_or_else(|e| fail("session", e));
    eprintln!(
        "{label}: read and one session built in {:.2?}",
        started.elapsed()
    );
    let times = measure(TEXTS.len(), runs.max(TEXTS.len() * 4), |i| {
        model
            .encode(TEXTS[i % TEXTS.len()])
            .unwrap_or_else(|e| fail("encode", e));
    });
    rows.push(row(label, "one message, one session (latency)", 1, &times));

    let cores = cores();
    let mut wide = files.model(cores).unwrap_or_else(|e| fail("session", e));
    let times = measure(TEXTS.len(), runs.max(TEXTS.len() * 4), |i| {
        wide.encode(TEXTS[i % TEXTS.len()])
            .unwrap_or_else(|e| fail("encode", e));
    });
    rows.push(row(
        label,
        &format!("one message, one session of {cores} threads (latency)"),
        1,
        &times,
    ));
    drop(wide);
    for threads in [1, cores] {
        rows.push(ceiling(label, &files, TEXTS, threads, seconds, ""));
    }
    // The texts the whole server is measured with, for the ratio of
    // server throughput to model ceiling.
    rows.push(ceiling(
        label,
        &files,
        loadgen_questions::QUESTIONS,
        cores,
        seconds,
        " on loadgen's questions",
    ));
}

/// Every one of `threads` threads runs its own single-threaded session
/// over `texts` in a tight loop for `seconds`: the most messages per
/// second the machine can understand.
fn ceiling(
    label: &str,
    files: &ModelFiles,
    texts: &[&str],
    threads: usize,
    seconds: f64,
    which: &str,
) -> Row {
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (n, took) = std::thread::scope(|s| {
        for t in 0..threads {
            let (done, stop) = (&done, &stop);
            s.spawn(move || {
                let mut model = files.model(1).unwrap_or_else(|e| fail("session", e));
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    model
                        .encode(texts[i % texts.len()])
                        .unwrap_or_else(|e| fail("encode", e));
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            });
        }
        // Sessions build first; count from a warm start.
        std::thread::sleep(Duration::from_millis(500));
        let (start, before) = (Instant::now(), done.load(Ordering::Relaxed));
        std::thread::sleep(Duration::from_secs_f64(seconds));
        let n = done.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        (n, start.elapsed())
    });
    let per_message = took / n.max(1) as u32 * threads as u32;
    Row {
        model: label.into(),
        case: format!("model ceiling{which}: tight loop on {threads} thread(s)"),
        n: threads,
        median: per_message,
        p90: per_message,
        per_second: n as f64 / took.as_secs_f64(),
    }
}

/// A runtime like the server's on this machine.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail("tokio runtime", e))
}

/// The workers and an FAQ in `data`: the demo FAQ plus `synthetic`
/// generated entries, with the encoder attached as `src/app.rs` does
/// (which embeds every text and builds the graph).
fn workers_and_faq(
    rt: &tokio::runtime::Runtime,
    data: &Path,
    models: &Path,
    p: Parallelism,
    synthetic: usize,
) -> (Nlu, Faq) {
    rt.block_on(async {
        let (master, _) = frontdesk::crm::MasterKey::resolve(None, None, data)
            .unwrap_or_else(|e| fail("master key", e));
        let store = Store::open(data, &master).unwrap_or_else(|e| fail("store", e));
        let faq = Faq::open(store, data).unwrap_or_else(|e| fail("faq", e));
        faq.load_demo_if_new()
            .await
            .unwrap_or_else(|e| fail("demo faq", e));
        if synthetic > 0 {
            let drafts = (0..synthetic)
                .map(frontdesk::faq::synthetic::entry)
                .collect();
            faq.import(drafts)
                .await
                .unwrap_or_else(|e| fail("synthetic faq", e));
        }
        let nlu = Nlu::load(models, p).unwrap_or_else(|e| fail("nlu", e));
        let started = Instant::now();
        faq.attach_encoder(nlu.clone())
            .await
            .unwrap_or_else(|e| fail("attach encoder", e));
        if synthetic > 0 {
            eprintln!(
                "{synthetic} synthetic FAQ entries: texts embedded, graph built in {:.1?}",
                started.elapsed()
            );
        }
        (nlu, faq)
    })
}

/// Each text with its embedding, computed before a search is timed.
fn embedded(rt: &tokio::runtime::Runtime, nlu: &Nlu, texts: &[&str]) -> Vec<(String, Vec<f32>)> {
    rt.block_on(async {
        let mut out = Vec::new();
        for t in texts {
            let (embedding, _) = nlu
                .encode((*t).to_owned())
                .await
                .unwrap_or_else(|e| fail("encode", e));
            out.push(((*t).to_owned(), embedding));
        }
        out
    })
}

/// The workers under concurrent single-text requests (as turns send them),
/// and the FAQ search over the demo FAQ with the model attached, as
/// `src/app.rs` builds it.
fn bench_server_path(models: &Path, p: Parallelism, runs: usize, rows: &mut Vec<Row>) {
    let rt = runtime();
    let data = tempfile::tempdir().unwrap_or_else(|e| fail("temp dir", e));
    let (nlu, faq) = workers_and_faq(&rt, data.path(), models, p, 0);

    // Workers: `n` concurrent one-text requests.
    for &n in &[1usize, 8, 32] {
        let times = measure(3, runs, |i| {
            rt.block_on(async {
                let calls = (0..n).map(|k| {
                    let nlu = nlu.clone();
                    let text = TEXTS[(i * n + k) % TEXTS.len()].to_owned();
                    tokio::spawn(async move { nlu.encode(text).await })
                });
                for call in calls.collect::<Vec<_>>() {
                    match call.await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => fail("worker encode", e),
                        Err(e) => fail("worker task", e),
                    }
                }
            })
        });
        rows.push(row(
            "shipped",
            &format!(
                "{} worker(s) of {} thread(s), concurrent requests",
                p.workers, p.threads
            ),
            n,
            &times,
        ));
    }

    // FAQ search alone: the query embeddings are computed beforehand.
    let queries = embedded(&rt, &nlu, TEXTS);
    let runs_q = runs.max(TEXTS.len() * 8);
    let search = |hybrid: bool| {
        measure(TEXTS.len(), runs_q, |i| {
            let (text, embedding) = queries[i % queries.len()].clone();
            let embedding = hybrid.then_some(embedding);
            rt.block_on(faq.search_hybrid(text, embedding, 5))
                .unwrap_or_else(|e| fail("search", e));
        })
    };
    rows.push(row(
        "-",
        "FAQ search_hybrid (BM25 + cosine re-rank)",
        1,
        &search(true),
    ));
    rows.push(row(
        "-",
        "FAQ search, BM25 only (embedding None)",
        1,
        &search(false),
    ));

    // A turn's whole understanding step: encode, then hybrid search.
    let times = measure(TEXTS.len(), runs_q, |i| {
        let text = TEXTS[i % TEXTS.len()].to_owned();
        rt.block_on(async {
            let (embedding, _) = nlu
                .encode(text.clone())
                .await
                .unwrap_or_else(|e| fail("encode", e));
            faq.search_hybrid(text, Some(embedding), 5)
                .await
                .unwrap_or_else(|e| fail("search", e));
        })
    });
    rows.push(row(
        "shipped",
        "Nlu::encode + search_hybrid (a turn's understanding)",
        1,
        &times,
    ));
}

/// The FAQ search over the demo FAQ plus `synthetic` generated entries,
/// on loadgen's questions: BM25 alone, and BM25 with the graph search and
/// the re-ranking by meaning, as a turn runs it.
fn bench_faq_size(
    models: &Path,
    p: Parallelism,
    synthetic: usize,
    runs: usize,
    rows: &mut Vec<Row>,
) {
    let rt = runtime();
    let data = tempfile::tempdir().unwrap_or_else(|e| fail("temp dir", e));
    let (nlu, faq) = workers_and_faq(&rt, data.path(), models, p, synthetic);
    let entries = rt
        .block_on(faq.list())
        .unwrap_or_else(|e| fail("list faq", e))
        .len();
    let label = format!("FAQ of {entries} entries");
    let questions = loadgen_questions::QUESTIONS;
    let queries = embedded(&rt, &nlu, questions);
    let runs_q = runs.max(questions.len() * 8);
    for (hybrid, case) in [
        (false, "BM25 only, loadgen's questions"),
        (true, "search_hybrid, loadgen's questions"),
    ] {
        let times = measure(questions.len(), runs_q, |i| {
            let (text, embedding) = queries[i % queries.len()].clone();
            rt.block_on(faq.search_hybrid(text, hybrid.then_some(embedding), 5))
                .unwrap_or_else(|e| fail("search", e));
        });
        rows.push(row(&label, case, 1, &times));
    }
}

fn main() {
    let runs: usize = std::env::var("FRONTDESK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .max(1);
    let seconds: f64 = std::env::var("FRONTDESK_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0);
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut rows = Vec::new();

    bench_model("shipped", &shipped, runs, seconds, &mut rows);
    for spec in std::env::var("FRONTDESK_BENCH_MODELS")
        .unwrap_or_default()
        .split(',')
    {
        if let Some((label, dir)) = spec.split_once('=') {
            bench_model(label, Path::new(dir), runs, seconds, &mut rows);
        }
    }
    bench_multilingual(&shipped, runs, &mut rows);
    let cores = cores();
    let entries: usize = std::env::var("FRONTDESK_BENCH_FAQ_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if entries > 0 {
        let p = Parallelism {
            workers: cores,
            threads: 1,
            queue: 256,
        };
        for n in [0, entries] {
            bench_faq_size(&shipped, p, n, runs, &mut rows);
        }
    }
    for (workers, threads) in [(1, cores), (cores, 1)] {
        let p = Parallelism {
            workers,
            threads,
            queue: 256,
        };
        bench_server_path(&shipped, p, runs, &mut rows);
    }

    println!(
        "\n{runs} timed runs per case (per-message and search cases: at least 4-8 passes over {} texts); ceilings: {seconds} s each\n",
        TEXTS.len()
    );
    println!("| model | case | n | median ms | p90 ms | messages/s |");
    println!("|---|---|---:|---:|---:|---:|");
    for r in &rows {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.0} |",
            r.model,
            r.case,
            r.n,
            ms(r.median),
            ms(r.p90),
            r.per_second
        );
    }
}

//! Inference benchmark: the sentence encoder, the sentiment model and the
//! FAQ search, through the library's public API.
//!
//!     cargo bench --bench inference
//!     FRONTDESK_FP32_MODELS=/dir/with/fp32/encoder cargo bench --bench inference
//!
//! A small hand-written harness (no criterion): each case is warmed up,
//! then run repeatedly; the table shows the median and p90 of the runs and
//! the texts per second at the median. Settings:
//!
//! - `FRONTDESK_FP32_MODELS`: a directory holding an fp32 `encoder.onnx`
//!   (e.g. built by models/recipe/export_encoder.py). If `tokenizer.json`
//!   and `sentiment.onnx` are not beside it, they are taken from models/
//!   through a temporary directory.
//! - `FRONTDESK_BENCH_MODELS`: more complete model directories to compare,
//!   as `label=dir,label=dir` (e.g. the int8 encoder with the light
//!   sentiment head instead of the fine-tuned sentiment model).
//! - `FRONTDESK_BENCH_RUNS`: timed runs per case (default 50).
//!
//! Every model case includes tokenisation. "encoder" cases run the sentence
//! encoder alone; "encoder + sentiment" cases also run `sentiment.onnx`, as
//! a customer turn does (`Understanding::analyze`). For an fp32 directory
//! without its own `sentiment.onnx` that is the shipped one from models/,
//! so only the "encoder" rows compare int8 with fp32.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use frontdesk::crm::Store;
use frontdesk::faq::Faq;
use frontdesk::nlu::models::Models;
use frontdesk::nlu::worker::Batching;
use frontdesk::nlu::Nlu;

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

/// Batch sizes of the throughput cases.
const BATCHES: &[usize] = &[1, 8, 32];
/// ONNX Runtime intra-op threads: the server's default (1) and both cores.
const THREADS: &[usize] = &[1, 2];

struct Row {
    model: String,
    threads: String,
    case: String,
    batch: usize,
    median: Duration,
    p90: Duration,
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

fn row(model: &str, threads: &str, case: &str, batch: usize, times: &[Duration]) -> Row {
    Row {
        model: model.into(),
        threads: threads.into(),
        case: case.into(),
        batch,
        median: percentile(times, 50.0),
        p90: percentile(times, 90.0),
    }
}

/// `n` texts, cycling through `TEXTS` from `start`.
fn batch_of(n: usize, start: usize) -> Vec<&'static str> {
    (0..n).map(|i| TEXTS[(start + i) % TEXTS.len()]).collect()
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("inference bench: {what}: {e}");
    std::process::exit(1);
}

/// Per-message latency and batched throughput of the models in `dir`:
/// the encoder alone (what int8 vs fp32 compares), and the encoder plus
/// the sentiment model (what a customer turn runs).
fn bench_encoder(label: &str, dir: &Path, runs: usize, rows: &mut Vec<Row>) {
    for &threads in THREADS {
        let started = Instant::now();
        let mut models =
            Models::load(dir, threads).unwrap_or_else(|e| fail(&format!("load {label}"), e));
        eprintln!(
            "{label}, {threads} thread(s): loaded in {:.2?}",
            started.elapsed()
        );
        let t = threads.to_string();
        for (sentiment, what) in [(false, "encoder"), (true, "encoder + sentiment")] {
            // Per-message latency: one text per run, cycling through all
            // texts, so the figure mixes short and long messages like real
            // traffic.
            let times = measure(TEXTS.len(), runs.max(TEXTS.len() * 4), |i| {
                models
                    .encode(&batch_of(1, i), sentiment)
                    .unwrap_or_else(|e| fail("encode", e));
            });
            rows.push(row(
                label,
                &t,
                &format!("{what}: per-message latency"),
                1,
                &times,
            ));
            for &batch in BATCHES {
                let times = measure(3, runs, |i| {
                    models
                        .encode(&batch_of(batch, i * batch), sentiment)
                        .unwrap_or_else(|e| fail("encode", e));
                });
                rows.push(row(label, &t, &format!("{what}: batch"), batch, &times));
            }
        }
        // One text repeated: no padding, so this shows what batching gains
        // when every text in a batch has the same length.
        for &batch in &[1usize, 32] {
            let texts = vec![TEXTS[0]; batch];
            let times = measure(3, runs, |_| {
                models
                    .encode(&texts, false)
                    .unwrap_or_else(|e| fail("encode", e));
            });
            rows.push(row(
                label,
                &t,
                "encoder: batch of one text repeated",
                batch,
                &times,
            ));
        }
    }
}

/// The directory to load the fp32 models from: `dir` itself if complete,
/// else a temporary directory with its encoder and models/' other files.
fn fp32_dir(dir: &Path, int8: &Path) -> (PathBuf, Option<tempfile::TempDir>) {
    let encoder = dir.join("encoder.onnx");
    if !encoder.is_file() {
        fail(
            "FRONTDESK_FP32_MODELS",
            format!("{} is missing", encoder.display()),
        );
    }
    if dir.join("tokenizer.json").is_file() && dir.join("sentiment.onnx").is_file() {
        return (dir.to_owned(), None);
    }
    let tmp = tempfile::Builder::new()
        .prefix("frontdesk-fp32-")
        .tempdir()
        .unwrap_or_else(|e| fail("temp dir", e));
    let link = tmp.path().join("encoder.onnx");
    if std::os::unix::fs::symlink(&encoder, &link).is_err() {
        std::fs::copy(&encoder, &link).unwrap_or_else(|e| fail("copy encoder.onnx", e));
    }
    for file in ["tokenizer.json", "sentiment.onnx"] {
        std::fs::copy(int8.join(file), tmp.path().join(file))
            .unwrap_or_else(|e| fail(&format!("copy {file}"), e));
    }
    (tmp.path().to_owned(), Some(tmp))
}

/// The inference thread under concurrent single-text requests (as turns
/// send them), and the FAQ search over the demo FAQ with the encoder
/// attached, as `src/app.rs` builds it.
fn bench_server_path(models: &Path, runs: usize, rows: &mut Vec<Row>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail("tokio runtime", e));
    let data = tempfile::tempdir().unwrap_or_else(|e| fail("temp dir", e));
    let (nlu, faq) = rt.block_on(async {
        let store = Store::open(data.path()).unwrap_or_else(|e| fail("store", e));
        let faq = Faq::open(store, data.path()).unwrap_or_else(|e| fail("faq", e));
        faq.load_demo_if_new()
            .await
            .unwrap_or_else(|e| fail("demo faq", e));
        let nlu = Nlu::load(models, 1, Batching::default()).unwrap_or_else(|e| fail("nlu", e));
        faq.attach_encoder(nlu.clone())
            .await
            .unwrap_or_else(|e| fail("attach encoder", e));
        (nlu, faq)
    });

    // Worker: `n` concurrent one-text requests, batched by the thread.
    for &n in &[1usize, 8, 32] {
        let times = measure(3, runs, |i| {
            rt.block_on(async {
                let calls = batch_of(n, i * n).into_iter().map(|t| {
                    let nlu = nlu.clone();
                    tokio::spawn(async move { nlu.encode(t.to_owned()).await })
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
            "int8",
            "1",
            "worker (encoder + sentiment), concurrent requests",
            n,
            &times,
        ));
    }

    // FAQ search alone: the query embeddings are computed beforehand.
    let queries: Vec<(String, Vec<f32>)> = rt.block_on(async {
        let mut out = Vec::new();
        for t in TEXTS {
            let (embedding, _) = nlu
                .encode((*t).to_owned())
                .await
                .unwrap_or_else(|e| fail("encode", e));
            out.push(((*t).to_owned(), embedding));
        }
        out
    });
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
        "-",
        "FAQ search_hybrid (BM25 + cosine re-rank)",
        1,
        &search(true),
    ));
    rows.push(row(
        "-",
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
        "int8",
        "1",
        "Nlu::encode + search_hybrid (a turn's understanding)",
        1,
        &times,
    ));
}

/// Token counts of the texts: batches are padded to their longest text,
/// so the spread matters for batched throughput.
fn report_lengths(models: &Path) {
    let mut tokenizer = tokenizers::Tokenizer::from_file(models.join("tokenizer.json"))
        .unwrap_or_else(|e| fail("tokenizer", e));
    // The file pads to 128; `Models` pads to the longest text instead.
    tokenizer.with_padding(None);
    let lengths: Vec<usize> = TEXTS
        .iter()
        .map(|t| {
            tokenizer
                .encode(*t, true)
                .map(|e| e.get_ids().len())
                .unwrap_or(0)
        })
        .collect();
    let mean = lengths.iter().sum::<usize>() as f64 / lengths.len() as f64;
    eprintln!(
        "{} texts, tokens with [CLS]/[SEP]: {lengths:?} (mean {mean:.1}, max {}); \"one text repeated\" uses {} tokens",
        TEXTS.len(),
        lengths.iter().max().unwrap_or(&0),
        lengths[0]
    );
}

fn main() {
    let runs: usize = std::env::var("FRONTDESK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .max(1);
    let int8 = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    report_lengths(&int8);
    let mut rows = Vec::new();

    bench_encoder("int8", &int8, runs, &mut rows);
    match std::env::var_os("FRONTDESK_FP32_MODELS") {
        Some(dir) => {
            let (dir, _keep) = fp32_dir(Path::new(&dir), &int8);
            bench_encoder("fp32", &dir, runs, &mut rows);
        }
        None => eprintln!("FRONTDESK_FP32_MODELS is not set: skipping the fp32 encoder"),
    }
    // Further complete model directories to compare, as `label=dir,…`.
    for spec in std::env::var("FRONTDESK_BENCH_MODELS")
        .unwrap_or_default()
        .split(',')
    {
        if let Some((label, dir)) = spec.split_once('=') {
            bench_encoder(label, Path::new(dir), runs, &mut rows);
        }
    }
    bench_server_path(&int8, runs, &mut rows);

    println!("\n{runs} timed runs per case (per-message and search cases: at least 4-8 passes over {} texts)\n", TEXTS.len());
    println!("| model | threads | case | batch | median ms | p90 ms | texts/s (median) |");
    println!("|---|---|---|---:|---:|---:|---:|");
    for r in &rows {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.0} |",
            r.model,
            r.threads,
            r.case,
            r.batch,
            ms(r.median),
            ms(r.p90),
            r.batch as f64 / r.median.as_secs_f64()
        );
    }
}

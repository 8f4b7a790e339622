//! Criterion benchmarks of the pieces after parsing, each in isolation: the analysis passes,
//! the Parquet row-group encoder, the CloudWatch filter engine, and the inputs' SHA-256 (one
//! stream against two interleaved).
//! Run: `cargo bench --bench components`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use forensics::event::{Event, EventBatchBuilder};
use forensics::filter::FilterPattern;
use forensics::format::{self, Reason, RecordSink};
use forensics::pass::{AnalysisConfig, Evidence, PassSet};

/// About 8 MiB of RDS for MySQL lines from the synthetic generator's formats.
fn corpus() -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("forensics-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = forensics::synth::SynthOptions {
        size_bytes: 8 << 20,
        days: 1,
        ..forensics::synth::SynthOptions::new(dir.clone())
    };
    let report = forensics::synth::generate(&opts).expect("synth");
    let mut all = Vec::new();
    for f in &report.files {
        all.extend(std::fs::read(f).expect("read corpus"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    all
}

/// Collects events for the benchmarks that start after parsing.
struct Collect<'a>(Vec<(Event<'a>, &'a [u8])>);

impl<'a> RecordSink<'a> for Collect<'a> {
    fn event(&mut self, e: Event<'a>, m: &'a [u8]) {
        self.0.push((e, m));
    }
    fn blank(&mut self, _l: u64) {}
    fn rejected(&mut self, _l: u64, _r: Reason, _t: &'a [u8]) {}
}

fn parsed(data: &[u8]) -> Vec<(Event<'_>, &[u8])> {
    let fmt = format::sniff(data).unwrap();
    let mut c = Collect(Vec::new());
    format::parse_chunk(&fmt, data, 1, true, &mut c);
    c.0
}

fn config() -> AnalysisConfig {
    AnalysisConfig {
        allow: vec!["10.20.0.0/16".parse().unwrap()],
        master_users: vec!["admin".into()],
        admin_hosts: vec!["10.20.0.10/32".parse().unwrap()],
        ..AnalysisConfig::default()
    }
}

fn passes(c: &mut Criterion) {
    let data = corpus();
    let events = parsed(&data);
    let config = config();
    let mut g = c.benchmark_group("passes");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("observe_all", |b| {
        b.iter(|| {
            let mut p = PassSet::new(&config);
            for (e, m) in &events {
                p.observe(e, Evidence::at(0, e.line), m);
            }
            p
        })
    });
    g.finish();
}

fn parquet(c: &mut Criterion) {
    let data = corpus();
    let events = parsed(&data);
    let mut builder = EventBatchBuilder::new("bench/server_audit.log".into(), events.len());
    for (e, _) in &events {
        builder.push(e);
    }
    let batch = builder.finish();
    let encoder =
        forensics::sink::parquet::RowGroupEncoder::new(&forensics::event::COLUMNS).unwrap();
    let mut g = c.benchmark_group("parquet");
    g.sample_size(10);
    g.throughput(Throughput::Elements(batch.num_rows() as u64));
    g.bench_function("build_arrow", |b| {
        b.iter(|| {
            let mut builder = EventBatchBuilder::new("bench/server_audit.log".into(), events.len());
            for (e, _) in &events {
                builder.push(e);
            }
            builder.finish().num_rows()
        })
    });
    g.bench_function("encode_row_group", |b| {
        b.iter(|| encoder.encode(0, &batch).unwrap().rows)
    });
    // The writer's share: the batch as four pieces (as four chunks would give it), joined
    // into one row group (dictionaries merged and encoded) and written to a file.
    let quarter = batch.num_rows() / 4;
    let pieces: Vec<_> = (0..4).map(|k| batch.slice(k * quarter, quarter)).collect();
    let dir = tempfile::tempdir().unwrap();
    // One thread: the writer's own work, as while the workers parse.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("join_and_write", |b| {
        b.iter_batched(
            || {
                pieces
                    .iter()
                    .map(|p| encoder.encode(0, p).unwrap())
                    .collect::<Vec<_>>()
            },
            |encoded| {
                let out = dir.path().join("events");
                let _ = std::fs::remove_dir_all(&out);
                let mut w = forensics::sink::parquet::PartitionedWriter::new(
                    &out,
                    &forensics::event::COLUMNS,
                )
                .unwrap();
                for piece in encoded {
                    w.append(piece).unwrap();
                }
                w.finish(&pool).unwrap().1
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn filter(c: &mut Criterion) {
    let data = corpus();
    let lines: Vec<&str> = std::str::from_utf8(&data).unwrap().lines().collect();
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (name, pattern) in [
        ("terms", r#"CONNECT -localhost -"10.20.""#),
        ("regex", r"%FAILED_CONNECT,[^,]*,1045%"),
        ("delimited", "[ts, host, user=admin, ...]"),
    ] {
        let p = FilterPattern::parse(pattern).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| lines.iter().filter(|l| p.matches(l)).count())
        });
    }
    g.finish();
}

/// The chain-of-custody hash: `sha2` on one stream against two streams hashed in lockstep
/// (the same bytes in total), as a scan hashes two files at once.
fn hash(c: &mut Criterion) {
    use forensics::input::sha256x2::{update_pair, Sha256State};
    use sha2::Digest;
    let data: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
    let (a, b) = data.split_at(data.len() / 2);
    let mut g = c.benchmark_group("sha256");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("sha2_one_stream", |bch| {
        bch.iter(|| sha2::Sha256::digest(&data))
    });
    g.bench_function("two_streams", |bch| {
        bch.iter(|| {
            let (mut ha, mut hb) = (Sha256State::new(), Sha256State::new());
            update_pair(&mut ha, a, &mut hb, b);
            (ha.finalize(), hb.finalize())
        })
    });
    g.finish();
}

criterion_group!(benches, passes, parquet, filter, hash);
criterion_main!(benches);

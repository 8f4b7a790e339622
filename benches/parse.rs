//! Criterion micro-benchmarks: the MySQL-family parser per dialect and the PostgreSQL parser
//! in both layouts, stderr and csvlog (MB/s), statement classification, and a whole chunk (parse + passes + Arrow + Parquet
//! encoding).
//! Run: `cargo bench --bench parse`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use forensics::event::Event;
use forensics::format::{self, Reason, RecordSink};

/// Realistic lines of each dialect, about 8 MiB each.
fn corpus(dialect: &str) -> Vec<u8> {
    let mut s = String::new();
    let base = 1_772_366_400i64; // 2026-03-01T12:00:00Z
    let queries = [
        "SELECT id, name, email FROM customers WHERE id = 4711",
        "/* app=orders */ UPDATE orders SET status = \\'shipped\\', note = \\'Zoë, 東京\\' WHERE id = 99",
        "INSERT INTO events (a, b, c) VALUES (1, \\'x,y\\', NOW())",
        "SELECT o.id,\\n       o.total\\nFROM orders o\\nWHERE o.customer_id = 12",
        "COMMIT",
    ];
    let mut i = 0u64;
    while s.len() < 8 << 20 {
        let t = base + (i / 20) as i64;
        let ts = match dialect {
            "aurora" => format!("{}{:06}", t, (i * 37) % 1_000_000),
            _ => chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y%m%d %H:%M:%S")
                .to_string(),
        };
        let conn = 1000 + i / 12;
        let prefix = if dialect == "cloudwatch" {
            chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S.000Z ")
                .to_string()
        } else {
            String::new()
        };
        let (extra_conn, extra_q) = match dialect {
            "rds" | "cloudwatch" => (",SSL", ",,"),
            _ => ("", ""),
        };
        match i % 12 {
            0 => s += &format!("{prefix}{ts},ip-10-20-1-51,app_orders,10.20.3.{},{conn},0,CONNECT,orders,,0{extra_conn}\n", i % 250),
            11 => s += &format!("{prefix}{ts},ip-10-20-1-51,app_orders,10.20.3.{},{conn},0,DISCONNECT,orders,,0{extra_conn}\n", i % 250),
            k => s += &format!(
                "{prefix}{ts},ip-10-20-1-51,app_orders,10.20.3.{},{conn},{i},QUERY,orders,'{}',0{extra_q}\n",
                i % 250,
                queries[k as usize % queries.len()]
            ),
        }
        i += 1;
    }
    s.into_bytes()
}

/// The statements of [`corpus`] as PostgreSQL logs them (quotes not escaped).
const PG_QUERIES: [&str; 5] = [
    "SELECT id, name, email FROM customers WHERE id = 4711",
    "/* app=orders */ UPDATE orders SET status = 'shipped', note = 'Zoë, 東京' WHERE id = 99",
    "INSERT INTO events (a, b, c) VALUES (1, 'x,y', NOW())",
    "SELECT o.id,\n       o.total\nFROM orders o\nWHERE o.customer_id = 12",
    "COMMIT",
];

/// RDS PostgreSQL with log_connections, log_disconnections and pgaudit, about 8 MiB: the
/// statements of [`corpus`], so both parsers read the same SQL; a quarter of the audit records
/// are quoted CSV, some spanning lines; checkpoints and ERROR/DETAIL/STATEMENT groups between.
fn pg_corpus() -> Vec<u8> {
    let mut s = String::new();
    let base = 1_772_366_400i64; // 2026-03-01T12:00:00Z
    let queries = PG_QUERIES;
    let mut i = 0u64;
    while s.len() < 8 << 20 {
        let ts = chrono::DateTime::from_timestamp(base + (i / 20) as i64, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S UTC");
        let pid = 1000 + i / 12;
        let host = format!("10.20.3.{}({})", i % 250, 40000 + pid % 20000);
        let p = format!("{ts}:{host}:app_orders@orders:[{pid}]:");
        match i % 12 {
            0 => {
                s += &format!("{ts}:{host}:[unknown]@[unknown]:[{pid}]:LOG:  connection received: host=10.20.3.{} port={}\n", i % 250, 40000 + pid % 20000);
                s += &format!("{p}LOG:  connection authorized: user=app_orders database=orders application_name=PostgreSQL JDBC Driver SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)\n");
            }
            11 => s += &format!("{p}LOG:  disconnection: session time: 0:00:11.021 user=app_orders database=orders host=10.20.3.{} port={}\n", i % 250, 40000 + pid % 20000),
            6 => s += &format!("{p}LOG:  duration: 0.412 ms  statement: {}\n", queries[i as usize % queries.len()]),
            9 => {
                s += &format!("{p}ERROR:  duplicate key value violates unique constraint \"events_pkey\"\n");
                s += &format!("{p}DETAIL:  Key (id)=({i}) already exists.\n");
                s += &format!("{p}STATEMENT:  INSERT INTO events (a, b, c) VALUES (1, 'x,y', NOW())\n");
                s += &format!("{ts}::@:[398]:LOG:  checkpoint starting: time\n");
            }
            k => {
                let q = queries[k as usize % queries.len()];
                let (class, command) = match q.split_whitespace().find(|w| !w.starts_with("/*") && !w.ends_with("*/") && *w != "app=orders") {
                    Some("SELECT") => ("READ", "SELECT"),
                    Some("UPDATE") => ("WRITE", "UPDATE"),
                    Some("INSERT") => ("WRITE", "INSERT"),
                    _ => ("MISC", "COMMIT"),
                };
                let field = if q.contains([',', '"', '\n']) {
                    format!("\"{}\"", q.replace('"', "\"\""))
                } else {
                    q.to_string()
                };
                s += &format!("{p}LOG:  AUDIT: SESSION,{k},1,{class},{command},,,{field},<not logged>\n");
            }
        }
        i += 1;
    }
    s.into_bytes()
}

/// The same traffic in PostgreSQL's csvlog layout (26 columns, quoted text, statements over
/// several lines inside the quotes), about 8 MiB.
fn pg_csv_corpus() -> Vec<u8> {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let queries = PG_QUERIES;
    let base = 1_772_366_400i64; // 2026-03-01T12:00:00Z
    let mut s = String::new();
    let mut i = 0u64;
    while s.len() < 8 << 20 {
        let ts = chrono::DateTime::from_timestamp(base + (i / 20) as i64, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S%.3f UTC");
        let pid = 1000 + i / 12;
        let from = format!("10.20.3.{}:{}", i % 250, 40000 + pid % 20000);
        let message = match i % 12 {
            0 => "connection authorized: user=app_orders database=orders application_name=PostgreSQL JDBC Driver SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)".to_string(),
            11 => format!("disconnection: session time: 0:00:11.021 user=app_orders database=orders host=10.20.3.{} port={}", i % 250, 40000 + pid % 20000),
            6 => format!("duration: 0.412 ms  statement: {}", queries[i as usize % queries.len()]),
            k => {
                let sql = queries[k as usize % queries.len()];
                let field = if sql.contains([',', '"', '\n']) { q(sql) } else { sql.to_string() };
                format!("AUDIT: SESSION,{k},1,READ,SELECT,,,{field},<not logged>")
            }
        };
        s += &format!(
            "{ts},\"app_orders\",\"orders\",{pid},\"{from}\",65e1a2b3.{pid:x},{i},\"SELECT\",{ts},3/{i},0,LOG,00000,{},,,,,,,,,\"PostgreSQL JDBC Driver\",\"client backend\",,0\n",
            q(&message)
        );
        i += 1;
    }
    s.into_bytes()
}

struct Count(u64);

impl<'a> RecordSink<'a> for Count {
    fn event(&mut self, e: Event<'a>, _m: &'a [u8]) {
        self.0 += e.connection_id as u64 & 1;
    }
    fn blank(&mut self, _l: u64) {}
    fn rejected(&mut self, _l: u64, _r: Reason, _t: &'a [u8]) {
        panic!("benchmark corpus must parse");
    }
}

fn parsers(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for dialect in ["mariadb", "rds", "aurora", "cloudwatch"] {
        let data = corpus(dialect);
        let fmt = format::sniff(&data).unwrap();
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(dialect), &data, |b, data| {
            b.iter(|| {
                let mut sink = Count(0);
                format::parse_chunk(&fmt, data, 1, true, &mut sink);
                sink.0
            })
        });
    }
    let data = pg_corpus();
    let fmt = format::sniff(&data).unwrap();
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_with_input(BenchmarkId::from_parameter("postgres"), &data, |b, data| {
        b.iter(|| {
            let mut sink = Count(0);
            format::parse_chunk(&fmt, data, 1, true, &mut sink);
            sink.0
        })
    });
    // csvlog rows are rewritten into an arena, then read by the stderr parser.
    let data = pg_csv_corpus();
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_with_input(
        BenchmarkId::from_parameter("postgres_csvlog"),
        &data,
        |b, data| {
            b.iter(|| {
                let arena = format::postgres_csv::Arena::decode(data, true);
                let mut sink = Count(0);
                arena.parse(None, 1, &mut sink);
                sink.0
            })
        },
    );
    g.finish();
}

fn classify(c: &mut Criterion) {
    let stmts: Vec<&[u8]> = vec![
        b"SELECT id, name FROM customers WHERE id = 1",
        b"/* app=orders */ UPDATE orders SET s = 1 WHERE id = 2",
        b"GRANT ALL PRIVILEGES ON *.* TO 'x'@'%' WITH GRANT OPTION",
        b"SELECT * FROM t INTO OUTFILE '/tmp/x'",
        b"DELETE FROM invoices",
    ];
    let bytes: usize = stmts.iter().map(|s| s.len()).sum();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("mixed", |b| {
        b.iter(|| {
            stmts
                .iter()
                .map(|s| forensics::classify::classify(s) as u32)
                .sum::<u32>()
        })
    });
    g.finish();
}

fn chunk(c: &mut Criterion) {
    let data = corpus("rds");
    let fmt = format::sniff(&data).unwrap();
    let config = forensics::pass::AnalysisConfig::default();
    let encoder =
        forensics::sink::parquet::RowGroupEncoder::new(&forensics::event::COLUMNS).unwrap();
    let path: std::sync::Arc<str> = "bench/server_audit.log".into();
    let none = forensics::dedupe::Duplicates::none();
    let mut g = c.benchmark_group("chunk");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (name, enc) in [("analysis_only", None), ("with_parquet", Some(&encoder))] {
        let settings = forensics::scan::ChunkSettings {
            since_us: None,
            until_us: None,
            encoder: enc,
            config: &config,
            analysis: true,
            duplicates: &none,
            max_record_bytes: forensics::format::DEFAULT_MAX_RECORD_BYTES,
            privileges: false,
            sessions: true,
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                forensics::scan::process_chunk(&settings, 0, &path, &fmt, &data, 1, true)
                    .stats
                    .records
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parsers, classify, chunk);
criterion_main!(benches);

//! CloudWatch JSON deliveries read in pieces: a mapped delivery cut between its events into
//! tiny chunks, and a compressed one cut into tiny stream blocks, give the same events (every
//! column, `source_line` included) and byte-identical findings as the delivery read whole,
//! for every shape AWS writes: Firehose / subscription objects concatenated, `aws logs
//! filter-log-events` pages concatenated, and one page holding every event; plain and gzip.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

mod support;

/// A small Firehose corpus (gzip, no extension, as Firehose writes it): its first file.
fn firehose_gz(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = support::walk(&support::synth_firehose(dir));
    files.sort();
    files.remove(0)
}

/// The Firehose objects' data events as `filter-log-events` pages of `per_page` events,
/// pretty-printed as the AWS CLI prints them.
fn cli_pages(firehose: &[u8], per_page: usize) -> Vec<u8> {
    let mut events = Vec::new();
    for doc in serde_json::Deserializer::from_slice(firehose).into_iter::<Value>() {
        let doc = doc.unwrap();
        if doc["messageType"] != "DATA_MESSAGE" {
            continue;
        }
        for e in doc["logEvents"].as_array().unwrap() {
            events.push(json!({
                "logStreamName": doc["logStream"],
                "timestamp": e["timestamp"],
                "message": e["message"],
                "ingestionTime": e["timestamp"].as_i64().unwrap() + 700,
                "eventId": e["id"],
            }));
        }
    }
    let mut out = Vec::new();
    for (i, page) in events.chunks(per_page).enumerate() {
        let page = json!({
            "events": page,
            "searchedLogStreams": [],
            "nextToken": format!("Bxkq6kVGFtq2y_{i}"),
        });
        out.extend(serde_json::to_vec_pretty(&page).unwrap());
        out.push(b'\n');
    }
    out
}

/// Every event row (every column as text) and the findings file of a scan of `path`.
fn scan(path: &Path, out: &Path, chunk: usize, threads: usize) -> (Vec<Vec<String>>, Vec<u8>) {
    let limit = forensics::format::DEFAULT_MAX_RECORD_BYTES;
    scan_limited(path, out, chunk, threads, limit)
}

/// [`scan`] with the record limit `max_record_bytes`.
fn scan_limited(
    path: &Path,
    out: &Path,
    chunk: usize,
    threads: usize,
    max_record_bytes: usize,
) -> (Vec<Vec<String>>, Vec<u8>) {
    let opts = forensics::ScanOptions {
        paths: vec![path.to_path_buf()],
        out: out.to_path_buf(),
        since_us: None,
        until_us: None,
        threads,
        force: true,
        no_events: false,
        format: Default::default(),
        clock: Default::default(),
        analysis: Default::default(),
        progress: false,
        chunk_bytes: Some(chunk),
        run_passes: true,
        keep_duplicates: false,
        max_record_bytes,
        no_report: false,
        no_sessions: false,
        privileges: false,
        grants: None,
        settings_used: Vec::new(),
        shard: None,
    };
    forensics::scan(&opts).expect("scan runs");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["inputs"][0]["format"], "cloudwatch_json");
    assert_eq!(summary["totals"]["rejected"], 0, "{summary}");
    let findings = std::fs::read(out.join("findings.parquet")).unwrap();
    (event_rows(out), findings)
}

fn event_rows(out: &Path) -> Vec<Vec<String>> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut rows = Vec::new();
    for p in support::walk(&out.join("events")) {
        let file = std::fs::File::open(&p).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let opts = FormatOptions::default();
            // Times as their integers (the formatter knows no named zones).
            let cols: Vec<arrow::array::ArrayRef> = batch
                .columns()
                .iter()
                .map(|c| match c.data_type() {
                    arrow::datatypes::DataType::Timestamp(..) => {
                        arrow::compute::cast(c, &arrow::datatypes::DataType::Int64).unwrap()
                    }
                    _ => c.clone(),
                })
                .collect();
            let cols: Vec<ArrayFormatter> = cols
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
                .collect();
            for i in 0..batch.num_rows() {
                rows.push(cols.iter().map(|c| c.value(i).to_string()).collect());
            }
        }
    }
    rows.sort();
    rows
}

/// One delivery file, scanned whole and in tiny chunks (mapped) or tiny blocks (gzip), on
/// one and two threads: the same rows and the same findings bytes.
fn same_in_pieces(path: &Path, dir: &Path) -> Vec<Vec<String>> {
    let (rows, findings) = scan(path, &dir.join("whole"), 1 << 30, 1);
    assert!(rows.len() > 1000, "{}", rows.len());
    for (chunk, threads) in [(1500, 2), (4096, 1), (64 << 10, 2)] {
        let (r, f) = scan(path, &dir.join(format!("c{chunk}")), chunk, threads);
        assert!(r == rows, "{path:?} in chunks of {chunk}: other events");
        assert!(
            f == findings,
            "{path:?} in chunks of {chunk}: other findings"
        );
    }
    rows
}

/// The rows less `source_file`.
fn without_file(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let at = forensics::event::COLUMNS
        .iter()
        .position(|c| c.name == "source_file")
        .unwrap();
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            r.remove(at);
            r
        })
        .collect()
}

#[test]
fn firehose_objects_read_in_pieces_give_the_whole_file_events() {
    let dir = tempfile::tempdir().unwrap();
    let gz = firehose_gz(dir.path());
    let plain = dir.path().join("firehose.json");
    std::fs::write(&plain, support::gunzip(&gz)).unwrap();
    let a = same_in_pieces(&gz, &dir.path().join("gz"));
    let b = same_in_pieces(&plain, &dir.path().join("plain"));
    assert_eq!(without_file(&a), without_file(&b));
}

#[test]
fn cli_pages_read_in_pieces_give_the_whole_file_events() {
    let dir = tempfile::tempdir().unwrap();
    let firehose = support::gunzip(&firehose_gz(dir.path()));
    let mut all = Vec::new();
    for (name, per_page) in [("pages", 500), ("one_page", usize::MAX)] {
        let text = cli_pages(&firehose, per_page);
        let plain = dir.path().join(format!("{name}.json"));
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.path().join(format!("{name}.json.gz"));
        std::fs::write(&gz, support::gzip(&text)).unwrap();
        let a = same_in_pieces(&plain, &dir.path().join(format!("{name}-plain")));
        let b = same_in_pieces(&gz, &dir.path().join(format!("{name}-gz")));
        assert_eq!(without_file(&a), without_file(&b));
        all.push(without_file(&a));
    }
    // The same events however they are paged.
    assert_eq!(all[0], all[1]);
}

/// Events longer than the record limit (`--max-record-bytes`) neither break a JSON stream nor
/// are lost: a block is cut between events, an event over the limit is read whole (as in a
/// mapped delivery), and the events after it are read on.
#[test]
fn events_over_the_record_limit_keep_a_json_stream_whole() {
    let dir = tempfile::tempdir().unwrap();
    let gz = firehose_gz(dir.path());
    let (rows, findings) = scan(&gz, &dir.path().join("whole"), 1 << 30, 1);
    assert!(rows.len() > 1000, "{}", rows.len());
    // Most Firehose events are longer than 256 bytes.
    for (chunk, limit) in [(1500, 256), (64 << 10, 1024)] {
        let (r, f) = scan_limited(&gz, &dir.path().join(format!("l{limit}")), chunk, 2, limit);
        assert!(r == rows, "limit {limit}: other events");
        assert!(f == findings, "limit {limit}: other findings");
    }
}

//! CloudWatch subscription-filter deliveries as Firehose stores them in S3: gzip objects
//! without extension, each a run of JSON payloads concatenated without separators, the first
//! opening with a `CONTROL_MESSAGE`. Each log event is a line, or a PostgreSQL record with
//! its continuation lines.

use std::io;
use std::path::Path;

use super::layout::Unit;
use super::output::Out;
use super::plan::{Env, Plan};
use super::render::Emitter;
use super::text::{push, push_i64};
use super::time::{days_from_civil, MS};
use super::{Compression, Flavor};

/// Log events per subscription payload (Firehose writes the payloads back to back).
const EVENTS_PER_PAYLOAD: usize = 100;
const SUBSCRIPTION_FILTER: &str = "rds-logs-to-firehose";

/// Writes one unit as CloudWatch subscription deliveries: each log event (a line, or a
/// PostgreSQL record with its continuation lines) becomes a `logEvents` entry; payloads are
/// concatenated without separators; the first object opens with a `CONTROL_MESSAGE`.
pub(crate) fn write_unit_json(
    env: &Env,
    plan: &Plan,
    unit: &Unit,
    out: &Path,
) -> io::Result<(u64, u64)> {
    let mut o = Out::create(&out.join(&unit.paths[0]), Compression::Gzip)?;
    let mut em = Emitter::new(env);
    let (mut lines, mut bytes) = (0, 0);
    let mut doc = Vec::with_capacity(1 << 20);
    if unit.slices.start == 0 {
        doc.extend_from_slice(b"{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\",\"logGroup\":\"\",\"logStream\":\"\",\"subscriptionFilters\":[],\"logEvents\":[{\"id\":\"\",\"timestamp\":");
        push_i64(&mut doc, env.start_us / MS);
        doc.extend_from_slice(
            b",\"message\":\"CWL CONTROL MESSAGE: Checking health of destination Firehose.\"}]}",
        );
        o.write_all(&doc)?;
        bytes += doc.len() as u64;
    }
    let mut events: Vec<(usize, usize)> = Vec::new();
    for i in unit.slices.clone() {
        em.clear();
        em.emit(i, &plan.slices[i]);
        lines += em.lines;
        let text = &em.lanes[0];
        events.clear();
        let mut start = 0;
        while start < text.len() {
            let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |k| start + k);
            let line = &text[start..end];
            match events.last_mut() {
                Some(last) if !starts_event(env.flavor, line) => last.1 = end,
                _ => events.push((start, end)),
            }
            start = end + 1;
        }
        for (k, batch) in events.chunks(EVENTS_PER_PAYLOAD).enumerate() {
            doc.clear();
            push(
                &mut doc,
                "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"",
            );
            push(&mut doc, env.flavor.log_group());
            push(&mut doc, "\",\"logStream\":\"");
            push(&mut doc, env.flavor.instance_id());
            push(&mut doc, "\",\"subscriptionFilters\":[\"");
            push(&mut doc, SUBSCRIPTION_FILTER);
            push(&mut doc, "\"],\"logEvents\":[");
            for (j, &(a, z)) in batch.iter().enumerate() {
                let msg = &text[a..z];
                let ms = line_ms(env.flavor, msg);
                if j > 0 {
                    doc.push(b',');
                }
                // Event ids are 56 digits in CloudWatch; these are unique and ordered.
                push(
                    &mut doc,
                    &format!(
                        "{{\"id\":\"{ms:026}{i:010}{:020}\",\"timestamp\":",
                        k * EVENTS_PER_PAYLOAD + j
                    ),
                );
                push_i64(&mut doc, ms);
                push(&mut doc, ",\"message\":");
                push_json_str(&mut doc, msg);
                doc.push(b'}');
            }
            push(&mut doc, "]}");
            o.write_all(&doc)?;
            bytes += doc.len() as u64;
        }
    }
    o.finish()?;
    Ok((lines, bytes))
}

/// Whether a rendered line starts a log event (else it continues a PostgreSQL record).
fn starts_event(flavor: Flavor, line: &[u8]) -> bool {
    flavor != Flavor::Postgres
        || (line.len() > 20 && line[..4].iter().all(u8::is_ascii_digit) && line[4] == b'-')
}

/// The CloudWatch timestamp (ms) of a rendered line: its own time.
fn line_ms(flavor: Flavor, line: &[u8]) -> i64 {
    let d = |r: std::ops::Range<usize>| -> i64 {
        line[r]
            .iter()
            .fold(0i64, |v, &c| v * 10 + (c.wrapping_sub(b'0') as i64 % 10))
    };
    let (y, mo, da, h, mi, s) = match flavor {
        Flavor::Aurora => return d(0..16) / MS,
        Flavor::Postgres => (d(0..4), d(5..7), d(8..10), d(11..13), d(14..16), d(17..19)),
        Flavor::RdsMysql | Flavor::Mariadb => {
            (d(0..4), d(4..6), d(6..8), d(9..11), d(12..14), d(15..17))
        }
    };
    (days_from_civil(y, mo as u32, da as u32) * 86_400 + h * 3600 + mi * 60 + s) * 1000
}

/// A JSON string literal (UTF-8 kept as is; quotes, backslashes and controls escaped).
fn push_json_str(b: &mut Vec<u8>, s: &[u8]) {
    b.push(b'"');
    for &c in s {
        match c {
            b'"' => b.extend_from_slice(b"\\\""),
            b'\\' => b.extend_from_slice(b"\\\\"),
            b'\n' => b.extend_from_slice(b"\\n"),
            b'\r' => b.extend_from_slice(b"\\r"),
            b'\t' => b.extend_from_slice(b"\\t"),
            0..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                b.extend_from_slice(b"\\u00");
                b.push(HEX[(c >> 4) as usize]);
                b.push(HEX[(c & 15) as usize]);
            }
            _ => b.push(c),
        }
    }
    b.push(b'"');
}

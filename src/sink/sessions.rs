//! `sessions.parquet`: one row per session (see [`crate::session`]), written as the sessions
//! end (encoded a batch of rows at a time), in row groups of [`ROWS_PER_GROUP`], into the
//! staging folder under a hidden temporary name that becomes `sessions.parquet` when the
//! run's last session is written.
//! The types follow the `events` table: times as `timestamp(ms, UTC)` with the exact
//! microseconds beside them, no unsigned types.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMillisecondBuilder,
};
use parquet::arrow::ArrowWriter;

use crate::error::{Error, Result};
use crate::event::client_ip;
use crate::intel::{GeoIp, NetInfo};
use crate::session::Session;
use crate::table::{self, Column, ColumnType::*, Storage::*};

/// Rows per row group.
pub const ROWS_PER_GROUP: usize = 65_536;
/// Rows per Arrow batch, and at most per data page: sessions are encoded and compressed a
/// batch at a time as they come, so the rows held as Arrow arrays stay a few MB whatever the
/// row group's size, and a run with fewer sessions than a row group does not encode them all
/// after its last event.
const ROWS_PER_BATCH: usize = 8_192;
const _: () = assert!(ROWS_PER_GROUP.is_multiple_of(ROWS_PER_BATCH));

/// The columns of `sessions.parquet`, in file order.
pub const COLUMNS: [Column; 33] = [
    Column::new("server_host", Utf8, false, DictionaryText),
    Column::new("connection_id", Int64, false, PlainFixed),
    Column::new("user", Utf8, false, DictionaryText),
    Column::new("client_host", Utf8, false, DictionaryText),
    Column::new("client_ip", Utf8, true, DictionaryText),
    Column::new("login_time", TimestampMsUtc, true, PlainFixed),
    Column::new("login_time_us", Int64, true, PlainFixed),
    Column::new("logout_time", TimestampMsUtc, true, PlainFixed),
    Column::new("logout_time_us", Int64, true, PlainFixed),
    Column::new("duration_us", Int64, true, PlainFixed),
    Column::new("login_operation", Utf8, true, DictionaryText),
    Column::new("login_result", Utf8, true, DictionaryText),
    Column::new("tls", Boolean, true, PlainFixed),
    Column::new("first_event_time", TimestampMsUtc, false, PlainFixed),
    Column::new("last_event_time", TimestampMsUtc, false, PlainFixed),
    Column::new("events", Int64, false, PlainFixed),
    Column::new("statements", Int64, false, PlainFixed),
    Column::new("statements_privilege", Int64, false, PlainFixed),
    Column::new("statements_destructive", Int64, false, PlainFixed),
    Column::new("statements_exfiltration", Int64, false, PlainFixed),
    Column::new("statements_ddl", Int64, false, PlainFixed),
    Column::new("statements_write", Int64, false, PlainFixed),
    Column::new("statements_read", Int64, false, PlainFixed),
    Column::new("statements_other", Int64, false, PlainFixed),
    Column::new("statements_code_execution", Int64, false, PlainFixed),
    Column::new("statements_audit", Int64, false, PlainFixed),
    Column::new("statements_tls", Int64, false, PlainFixed),
    Column::new("databases", Utf8List, false, PlainText),
    Column::new("first_evidence", Utf8, false, PlainText),
    Column::new("last_evidence", Utf8, false, PlainText),
    // `--geoip` (null without it, and for private addresses).
    Column::new("client_country", Utf8, true, DictionaryText),
    Column::new("client_asn", Int64, true, PlainFixed),
    Column::new("client_as_org", Utf8, true, DictionaryText),
];

/// Appends `n` in decimal (the `file:line` columns, two per session, without `fmt`).
fn push_decimal(buf: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.push_str(std::str::from_utf8(&digits[i..]).expect("ASCII digits"));
}

/// Builders of one batch of rows.
struct Rows {
    server: StringBuilder,
    conn: Int64Builder,
    user: StringBuilder,
    host: StringBuilder,
    ip: StringBuilder,
    login: TimestampMillisecondBuilder,
    login_us: Int64Builder,
    logout: TimestampMillisecondBuilder,
    logout_us: Int64Builder,
    duration: Int64Builder,
    login_op: StringBuilder,
    login_result: StringBuilder,
    tls: BooleanBuilder,
    first: TimestampMillisecondBuilder,
    last: TimestampMillisecondBuilder,
    events: Int64Builder,
    statements: Int64Builder,
    classes: [Int64Builder; crate::session::CLASSES.len()],
    databases: ListBuilder<StringBuilder>,
    first_ev: StringBuilder,
    last_ev: StringBuilder,
    country: StringBuilder,
    asn: Int64Builder,
    as_org: StringBuilder,
    len: usize,
    /// Each client host's canonical address (printed once, not per session).
    ips: crate::session::FastMap<Box<[u8]>, Option<String>>,
}

fn ts() -> TimestampMillisecondBuilder {
    TimestampMillisecondBuilder::new().with_timezone("UTC")
}

impl Rows {
    fn new() -> Rows {
        Rows {
            server: StringBuilder::new(),
            conn: Int64Builder::new(),
            user: StringBuilder::new(),
            host: StringBuilder::new(),
            ip: StringBuilder::new(),
            login: ts(),
            login_us: Int64Builder::new(),
            logout: ts(),
            logout_us: Int64Builder::new(),
            duration: Int64Builder::new(),
            login_op: StringBuilder::new(),
            login_result: StringBuilder::new(),
            tls: BooleanBuilder::new(),
            first: ts(),
            last: ts(),
            events: Int64Builder::new(),
            statements: Int64Builder::new(),
            classes: std::array::from_fn(|_| Int64Builder::new()),
            databases: ListBuilder::new(StringBuilder::new()),
            first_ev: StringBuilder::new(),
            last_ev: StringBuilder::new(),
            country: StringBuilder::new(),
            asn: Int64Builder::new(),
            as_org: StringBuilder::new(),
            len: 0,
            ips: Default::default(),
        }
    }

    /// Appends one row; text is copied straight into the builders (no allocation for valid
    /// UTF-8, the common case).
    fn push(&mut self, s: &Session, files: &[Arc<str>], buf: &mut String, net: Option<&NetInfo>) {
        use std::borrow::Cow;
        fn text(b: &[u8]) -> Cow<'_, str> {
            match std::str::from_utf8(b) {
                Ok(t) => Cow::Borrowed(t),
                Err(_) => String::from_utf8_lossy(b),
            }
        }
        let mut place = |out: &mut StringBuilder, (f, line): (u32, u64)| {
            buf.clear();
            buf.push_str(files.get(f as usize).map(|s| &**s).unwrap_or("?"));
            buf.push(':');
            push_decimal(buf, line);
            out.append_value(&*buf);
        };
        place(&mut self.first_ev, s.first_at);
        place(&mut self.last_ev, s.last_at);
        self.server.append_value(text(&s.server));
        self.conn.append_value(s.connection_id);
        self.user.append_value(text(&s.user));
        self.host.append_value(text(&s.client_host));
        let ip = match self.ips.get(&*s.client_host) {
            Some(ip) => ip,
            None => self
                .ips
                .entry(s.client_host.to_vec().into())
                .or_insert_with(|| client_ip(&s.client_host).map(|ip| ip.to_string())),
        };
        self.ip.append_option(ip.as_deref());
        self.login
            .append_option(s.login_us.map(|t| t.div_euclid(1000)));
        self.login_us.append_option(s.login_us);
        self.logout
            .append_option(s.logout_us.map(|t| t.div_euclid(1000)));
        self.logout_us.append_option(s.logout_us);
        self.duration
            .append_option(match (s.login_us, s.logout_us) {
                (Some(a), Some(b)) => Some(b.saturating_sub(a).max(0)),
                _ => None,
            });
        self.login_op
            .append_option(s.login.map(|l| l.operation.as_str()));
        self.login_result.append_option(
            s.login
                .map(|l| if l.success { "success" } else { "failed" }),
        );
        self.tls.append_option(s.tls);
        self.first.append_value(s.first_us.div_euclid(1000));
        self.last.append_value(s.last_us.div_euclid(1000));
        self.events.append_value(s.events as i64);
        self.statements.append_value(s.statement_total() as i64);
        for (b, n) in self.classes.iter_mut().zip(s.statements) {
            b.append_value(n as i64);
        }
        for d in &s.databases {
            self.databases.values().append_value(text(d));
        }
        self.databases.append(true);
        self.country
            .append_option(net.and_then(|n| n.country.as_deref()));
        self.asn
            .append_option(net.and_then(|n| n.asn).map(i64::from));
        self.as_org
            .append_option(net.and_then(|n| n.as_org.as_deref()));
        self.len += 1;
    }

    fn finish(&mut self) -> RecordBatch {
        self.len = 0;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.server.finish()),
            Arc::new(self.conn.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.host.finish()),
            Arc::new(self.ip.finish()),
            Arc::new(self.login.finish()),
            Arc::new(self.login_us.finish()),
            Arc::new(self.logout.finish()),
            Arc::new(self.logout_us.finish()),
            Arc::new(self.duration.finish()),
            Arc::new(self.login_op.finish()),
            Arc::new(self.login_result.finish()),
            Arc::new(self.tls.finish()),
            Arc::new(self.first.finish()),
            Arc::new(self.last.finish()),
            Arc::new(self.events.finish()),
            Arc::new(self.statements.finish()),
        ];
        for b in &mut self.classes {
            columns.push(Arc::new(b.finish()));
        }
        columns.push(Arc::new(self.databases.finish()));
        columns.push(Arc::new(self.first_ev.finish()));
        columns.push(Arc::new(self.last_ev.finish()));
        columns.push(Arc::new(self.country.finish()));
        columns.push(Arc::new(self.asn.finish()));
        columns.push(Arc::new(self.as_org.finish()));
        RecordBatch::try_new(table::arrow_schema(&COLUMNS), columns)
            .expect("session columns match the schema")
    }
}

/// Writes `sessions.parquet` as sessions end.
pub struct SessionWriter {
    path: PathBuf,
    tmp: PathBuf,
    writer: ArrowWriter<BufWriter<File>>,
    rows: Rows,
    files: Vec<Arc<str>>,
    buf: String,
    written: u64,
    /// `--geoip`, and what it said of each source so far (one look-up per source).
    geoip: Option<Arc<GeoIp>>,
    nets: crate::session::FastMap<crate::session::Name, Option<NetInfo>>,
}

impl SessionWriter {
    /// Starts `path` (under its hidden temporary name); `files` name the inputs.
    pub fn new(path: &Path, files: Vec<Arc<str>>) -> Result<SessionWriter> {
        let tmp = super::parquet::hidden_tmp(path);
        let file = File::create(&tmp).map_err(|e| Error::io(path, e))?;
        let schema = table::arrow_schema(&COLUMNS);
        let props = (*super::parquet::writer_properties(&schema, &COLUMNS))
            .clone()
            .into_builder()
            .set_data_page_row_count_limit(ROWS_PER_BATCH)
            .build();
        let writer = ArrowWriter::try_new(BufWriter::new(file), schema, Some(props))
            .map_err(|e| output_error(path, e))?;
        Ok(SessionWriter {
            path: path.to_path_buf(),
            tmp,
            writer,
            rows: Rows::new(),
            files,
            buf: String::new(),
            written: 0,
            geoip: None,
            nets: Default::default(),
        })
    }

    /// Fills the `client_country`, `client_asn` and `client_as_org` columns from `geoip`.
    pub fn with_geoip(mut self, geoip: Option<Arc<GeoIp>>) -> SessionWriter {
        self.geoip = geoip;
        self
    }

    /// Adds one session; a full batch is written as a row group.
    pub fn push(&mut self, s: &Session) -> Result<()> {
        let net = match &self.geoip {
            Some(g) => self
                .nets
                .entry(s.client_host.clone())
                .or_insert_with(|| client_ip(&s.client_host).and_then(|ip| g.lookup(ip)))
                .as_ref(),
            None => None,
        };
        self.rows.push(s, &self.files, &mut self.buf, net);
        if self.rows.len >= ROWS_PER_BATCH {
            self.write_batch()?;
            if self.written.is_multiple_of(ROWS_PER_GROUP as u64) {
                self.writer
                    .flush()
                    .map_err(|e| output_error(&self.path, e))?;
            }
        }
        Ok(())
    }

    /// Encodes the rows held (the row group stays open).
    fn write_batch(&mut self) -> Result<()> {
        if self.rows.len == 0 {
            return Ok(());
        }
        self.written += self.rows.len as u64;
        let batch = self.rows.finish();
        self.writer
            .write(&batch)
            .map_err(|e| output_error(&self.path, e))
    }

    /// Writes the last rows and moves the file into place; returns the rows written.
    pub fn finish(mut self) -> Result<u64> {
        let written = self.write_batch().and_then(|()| {
            let buf = self
                .writer
                .into_inner()
                .map_err(|e| output_error(&self.path, e))?;
            let file = buf
                .into_inner()
                .map_err(|e| Error::io(&self.path, e.into_error()))?;
            file.sync_all().map_err(|e| Error::io(&self.path, e))
        });
        super::parquet::into_place(written, &self.tmp, &self.path)?;
        Ok(self.written)
    }

    /// Gives up: the temporary is removed.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

fn output_error(path: &Path, e: parquet::errors::ParquetError) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Evidence;
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    fn session(i: i64) -> Session {
        let name = |s: &str| -> crate::session::Name { Arc::from(s.as_bytes()) };
        Session {
            server: name("db1"),
            connection_id: i,
            user: name("app"),
            client_host: name("10.0.0.1"),
            login: None,
            login_us: None,
            logout_us: Some(i * 1000 + 5),
            first_us: i * 1000,
            last_us: i * 1000 + 5,
            first_at: (0, 2 * i as u64 + 1),
            last_at: (0, 2 * i as u64 + 2),
            login_evidence: Evidence::at(0, 2 * i as u64 + 1),
            tls: None,
            events: 2,
            statements: [0; crate::session::CLASSES.len()],
            databases: vec![name("shop")],
            head: true,
            ended: true,
        }
    }

    /// Rows are encoded a batch at a time into row groups of `ROWS_PER_GROUP`, every row
    /// once, in the order given (read back by arrow-rs's reader).
    #[test]
    fn batches_make_whole_row_groups_and_every_row_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.parquet");
        let n = ROWS_PER_GROUP + ROWS_PER_BATCH + 7;
        let mut w = SessionWriter::new(&path, vec![Arc::from("a.log")]).unwrap();
        for i in 0..n {
            w.push(&session(i as i64)).unwrap();
        }
        assert_eq!(w.finish().unwrap(), n as u64);
        let (groups, batches) = crate::sink::parquet::read_back(&path);
        assert_eq!(groups, [ROWS_PER_GROUP as i64, (ROWS_PER_BATCH + 7) as i64]);
        let mut ids = Vec::new();
        let mut last = Vec::new();
        for batch in batches {
            ids.extend(
                batch["connection_id"]
                    .as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .copied(),
            );
            last.extend(
                batch["last_evidence"]
                    .as_string::<i32>()
                    .iter()
                    .map(|s| s.unwrap().to_string()),
            );
        }
        assert!(ids.iter().copied().eq(0..n as i64));
        assert_eq!(last[n - 1], format!("a.log:{}", 2 * (n - 1) + 2));
    }
}

//! [`EventBatchBuilder`]: copies borrowed events into Arrow columns, once.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Builder, Int64Builder, RecordBatch};

use super::columns::{DictCol, StrCol};
use super::*;
use crate::intel::GeoIp;

/// Column builders for one batch of events. Reused across batches where possible.
pub struct EventBatchBuilder {
    time_us: Vec<i64>,
    source_format: DictCol,
    server_host: DictCol,
    user: DictCol,
    client_host: DictCol,
    client_ip: DictCol,
    connection_id: Int64Builder,
    query_id: Int64Builder,
    operation: DictCol,
    database: DictCol,
    object: StrCol,
    retcode: Int32Builder,
    /// `tls` per row: 0 false, 1 true, 2 null (one byte store per event; arrow's builder
    /// keeps two bitmaps and was not inlined into the event loop).
    tls: Vec<u8>,
    statement_class: DictCol,
    source_line: Int64Builder,
    source_path: Arc<str>,
    /// The whole input chunk is valid UTF-8, so fields cut at ASCII delimiters are too.
    utf8_checked: bool,
    /// The `client_ip` key (`-1`: no address) of each distinct host field, by its
    /// `client_host` key.
    host_ips: Vec<i32>,
    /// The user, host and database keys last pushed for a few connection ids (direct-mapped
    /// by id): a session repeats them, and interleaved sessions defeat the columns' own
    /// last-value checks. A hint only: each is compared with the value before it is used.
    sessions: Box<[Session; SESSION_SLOTS]>,
    /// `--geoip`: with it, the `client_country`, `client_asn` and `client_as_org` keys of each
    /// distinct host field (by its `client_host` key, beside `host_ips`), looked up once per
    /// host per batch; without it those columns are all null and cost nothing per row.
    geo: Option<Arc<GeoIp>>,
    host_geo: Vec<(i32, Option<i64>, i32)>,
    country: DictCol,
    asn: Vec<Option<i64>>,
    as_org: DictCol,
}

/// Pushes a dictionary key, or a null for `-1`.
#[inline]
fn push_key_or_null(col: &mut DictCol, key: i32) {
    match key {
        -1 => col.push_null(),
        key => col.push_key(key),
    }
}

#[derive(Clone, Copy)]
struct Session {
    connection_id: i64,
    user: i32,
    host: i32,
    database: i32,
}

/// Per-session tables (the builder's key hints, the statistics' pending counts) are
/// direct-mapped by connection id into this many slots.
pub(crate) const SESSION_SLOTS: usize = 64;

/// The slot of `connection_id` in a table of [`SESSION_SLOTS`].
#[inline]
pub(crate) fn session_slot(connection_id: i64) -> usize {
    connection_id as u64 as usize % SESSION_SLOTS
}

const NO_SESSION: Session = Session {
    connection_id: i64::MIN,
    user: -1,
    host: -1,
    database: -1,
};

/// A batch is finished once a string column holds this much text, well below the 2 GiB that
/// 32-bit offsets allow (one more record adds at most `MAX_RECORD_BYTES`).
pub(crate) const MAX_BATCH_BYTES: usize = 1 << 30;

impl EventBatchBuilder {
    pub fn new(source_path: Arc<str>, capacity: usize) -> Self {
        let d = || DictCol::with_capacity(capacity);
        EventBatchBuilder {
            time_us: Vec::with_capacity(capacity),
            source_format: d(),
            server_host: d(),
            user: d(),
            client_host: d(),
            client_ip: d(),
            connection_id: Int64Builder::with_capacity(capacity),
            query_id: Int64Builder::with_capacity(capacity),
            operation: d(),
            database: d(),
            object: StrCol::with_capacity(capacity, capacity * 64),
            retcode: Int32Builder::with_capacity(capacity),
            tls: Vec::with_capacity(capacity),
            statement_class: d(),
            source_line: Int64Builder::with_capacity(capacity),
            source_path,
            utf8_checked: false,
            host_ips: Vec::new(),
            sessions: Box::new([NO_SESSION; SESSION_SLOTS]),
            geo: None,
            host_geo: Vec::new(),
            country: DictCol::with_capacity(0),
            asn: Vec::new(),
            as_org: DictCol::with_capacity(0),
        }
    }

    /// Fills the GeoIP columns from `geo` (`--geoip`); without it they are null.
    pub fn set_geoip(&mut self, geo: Option<Arc<GeoIp>>) {
        self.geo = geo;
    }

    /// Declares that every byte slice pushed from now on comes from a buffer already known to
    /// be valid UTF-8 (cut at ASCII delimiters), so per-field validation can be skipped.
    /// Crate-private: a wrong promise would put invalid UTF-8 into a `StringArray`.
    pub(crate) fn set_utf8_checked(&mut self, checked: bool) {
        self.utf8_checked = checked;
    }

    pub fn len(&self) -> usize {
        self.time_us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_us.is_empty()
    }

    /// Bytes of text held by the largest string column: a batch is finished before any
    /// column reaches [`MAX_BATCH_BYTES`] (Arrow `Utf8` offsets are 32-bit).
    pub(crate) fn text_bytes(&self) -> usize {
        [
            &self.source_format,
            &self.server_host,
            &self.user,
            &self.client_host,
            &self.client_ip,
            &self.database,
        ]
        .iter()
        .map(|c| c.len_bytes())
        .max()
        .unwrap_or(0)
        .max(self.object.len_bytes())
    }

    /// Copies one borrowed event into the columns: the single copy of its strings.
    pub fn push(&mut self, e: &Event<'_>) {
        self.time_us.push(e.time_us);
        self.source_format
            .push_slot(e.format as usize, e.format.as_str());
        let v = self.utf8_checked;
        self.server_host.push(e.server_host, v);
        let session = session_slot(e.connection_id);
        let slot = &mut self.sessions[session];
        if slot.connection_id != e.connection_id {
            *slot = Session {
                connection_id: e.connection_id,
                ..NO_SESSION
            };
        }
        slot.user = self.user.push_hinted(e.user, v, slot.user);
        slot.host = self.client_host.push_hinted(e.client_host, v, slot.host);
        let host = self.client_host.last_key() as usize;
        if host >= self.host_ips.len() {
            // A host field not seen in this batch (keys are handed out in order).
            let ip = match client_ip(e.client_host) {
                // An IPv4 address that is the whole field prints exactly as written (the
                // parser refuses leading zeros), so no formatting is needed.
                Some(IpAddr::V4(_))
                    if e.client_host.len() <= 15 && !e.client_host.contains(&b':') =>
                {
                    Some(String::from_utf8_lossy(e.client_host).into_owned())
                }
                Some(ip) => Some(ip.to_string()),
                None => None,
            };
            let key = match ip {
                Some(ip) => {
                    self.client_ip.push_str(&ip);
                    self.client_ip.last_key()
                }
                None => {
                    self.client_ip.push_null();
                    -1
                }
            };
            self.host_ips.push(key);
            if self.geo.is_some() {
                self.new_host_geo(e.client_host);
            }
        } else {
            match self.host_ips[host] {
                -1 => self.client_ip.push_null(),
                key => self.client_ip.push_key(key),
            }
            if self.geo.is_some() {
                let (country, asn, org) = self.host_geo[host];
                push_key_or_null(&mut self.country, country);
                self.asn.push(asn);
                push_key_or_null(&mut self.as_org, org);
            }
        }
        self.connection_id.append_value(e.connection_id);
        self.query_id.append_value(e.query_id);
        self.operation
            .push_slot(e.operation as usize, e.operation.as_str());
        if e.database.is_empty() {
            self.database.push_null();
        } else {
            let slot = &mut self.sessions[session];
            slot.database = self.database.push_hinted(e.database, v, slot.database);
        }
        match e.object {
            Text::None => self.object.append_null(),
            Text::Raw(b) => {
                self.object.push_bytes(b, v);
                self.object.commit();
            }
            Text::Escaped(b) if v => {
                self.object.push_unescaped(b);
                self.object.commit();
            }
            Text::Escaped(b) => {
                unescape_into(b, &mut self.object);
                self.object.commit();
            }
            Text::Quoted(b) => {
                undouble_quotes_into(b, &mut self.object, v);
                self.object.commit();
            }
        }
        self.retcode.append_option(e.retcode);
        self.tls.push(match e.tls {
            Some(b) => b as u8,
            None => 2,
        });
        match e.statement_class {
            Some(c) => self.statement_class.push_slot(c as usize, c.as_str()),
            None => self.statement_class.push_null(),
        }
        self.source_line.append_value(e.line as i64);
    }

    /// Looks up a host field not seen in this batch, pushes its GeoIP values for the row and
    /// keeps their keys for its later rows.
    #[cold]
    fn new_host_geo(&mut self, host: &[u8]) {
        let info = match (&self.geo, client_ip(host)) {
            (Some(g), Some(ip)) => g.lookup(ip),
            _ => None,
        };
        let info = info.unwrap_or_default();
        let key = |col: &mut DictCol, v: Option<&str>| match v {
            Some(v) => {
                col.push_str(v);
                col.last_key()
            }
            None => {
                col.push_null();
                -1
            }
        };
        let country = key(&mut self.country, info.country.as_deref());
        let org = key(&mut self.as_org, info.as_org.as_deref());
        let asn = info.asn.map(i64::from);
        self.asn.push(asn);
        self.host_geo.push((country, asn, org));
    }

    /// Takes the rows pushed so far as a `RecordBatch`, leaving the builder empty.
    pub fn finish(&mut self) -> RecordBatch {
        let time_us = std::mem::take(&mut self.time_us);
        let rows = time_us.len();
        let ms: TimestampMillisecondArray = time_us
            .iter()
            .map(|us| Some(us.div_euclid(1000)))
            .collect::<TimestampMillisecondArray>()
            .with_timezone("UTC");
        let us = arrow::array::Int64Array::from(time_us);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ms),
            Arc::new(us),
            Arc::new(self.source_format.finish()),
            Arc::new(self.server_host.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.client_host.finish()),
            Arc::new(self.client_ip.finish()),
            Arc::new(self.connection_id.finish()),
            Arc::new(self.query_id.finish()),
            Arc::new(self.operation.finish()),
            Arc::new(self.database.finish()),
            Arc::new(self.object.finish()),
            Arc::new(self.retcode.finish()),
            Arc::new(
                self.tls
                    .drain(..)
                    .map(|t| (t < 2).then_some(t == 1))
                    .collect::<arrow::array::BooleanArray>(),
            ),
            Arc::new(self.statement_class.finish()),
            Arc::new(DictionaryArray::<Int32Type>::new(
                Int32Array::from(vec![0; rows]),
                Arc::new(StringArray::from(vec![&*self.source_path])),
            )),
            Arc::new(self.source_line.finish()),
        ];
        let mut columns = columns;
        if self.geo.is_some() {
            columns.push(Arc::new(self.country.finish()));
            columns.push(Arc::new(arrow::array::Int64Array::from(std::mem::take(
                &mut self.asn,
            ))));
            columns.push(Arc::new(self.as_org.finish()));
        } else {
            // All null: nothing was pushed per row.
            let none = || {
                Arc::new(DictionaryArray::<Int32Type>::new(
                    Int32Array::new_null(rows),
                    Arc::new(StringArray::from(Vec::<&str>::new())),
                )) as ArrayRef
            };
            columns.push(none());
            columns.push(Arc::new(arrow::array::Int64Array::new_null(rows)));
            columns.push(none());
        }
        self.host_geo.clear();
        self.host_ips.clear();
        // Keys start over in the next batch.
        self.sessions.fill(NO_SESSION);
        RecordBatch::try_new(batch_schema(), columns).expect("event columns match the schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interleaved sessions, connection ids sharing a hint slot (1 and 65), a value changing
    /// within a session, and a second batch after `finish` (keys start over): every row holds
    /// its own values.
    #[test]
    fn session_hints_never_change_a_value() {
        use arrow::array::AsArray;
        let mut b = EventBatchBuilder::new("f".into(), 8);
        let rows: Vec<(i64, &str, &str, &str)> = vec![
            (1, "app", "10.0.0.1", "orders"),
            (65, "eve", "10.0.0.9", "billing"),
            (1, "app", "10.0.0.1", "orders"),
            (65, "eve", "10.0.0.9", ""),
            (1, "app", "10.0.0.2", "billing"),
            (2, "app", "10.0.0.1", "orders"),
            (1, "root", "10.0.0.2", "billing"),
        ];
        let strings = |batch: &RecordBatch, name: &str| -> Vec<Option<String>> {
            let c = arrow::compute::cast(
                batch.column_by_name(name).unwrap(),
                &arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            c.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect()
        };
        for round in 0..2 {
            for (i, &(conn, user, host, db)) in rows.iter().enumerate() {
                b.push(&Event {
                    time_us: i as i64,
                    format: SourceFormat::RdsMysqlAudit,
                    server_host: b"db",
                    user: user.as_bytes(),
                    client_host: host.as_bytes(),
                    connection_id: conn,
                    query_id: 0,
                    operation: Operation::Connect,
                    database: db.as_bytes(),
                    object: Text::None,
                    retcode: Some(0),
                    tls: None,
                    statement_class: None,
                    line: i as u64 + 1,
                });
            }
            let batch = b.finish();
            let want = |k: usize| -> Vec<Option<String>> {
                rows.iter()
                    .map(|r| [r.1, r.2, r.3][k].to_string())
                    .map(|s| Some(s).filter(|s| !s.is_empty()))
                    .collect()
            };
            assert_eq!(strings(&batch, "user"), want(0), "round {round}");
            assert_eq!(strings(&batch, "client_host"), want(1), "round {round}");
            assert_eq!(strings(&batch, "database"), want(2), "round {round}");
        }
    }
}

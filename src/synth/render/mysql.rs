//! The MySQL-family renderers: RDS for MySQL, MariaDB and Aurora MySQL `server_audit` lines.
//!
//! One comma-separated line per event (`timestamp,serverhost,user,host,connid,queryid,op,db,
//! object,retcode`), the RDS fork adding `connection_type`, Aurora writing epoch
//! microseconds and the old escaping, MariaDB and Aurora adding table events
//! (`READ`/`WRITE`/`DROP`) before their query. Aurora spreads connections over four files
//! written at once (the lanes), so concatenated files are out of time order, as on the server.

use std::cmp::Reverse;

use super::{connected, queried, Emitter, Fmt};
use crate::synth::app_sql::gen_app;
use crate::synth::plan::{Body, Session, SlicePlan, Tab};
use crate::synth::rng::range;
use crate::synth::text::{push_i64, put3_push};
use crate::synth::time::{MS, US};
use crate::synth::Flavor;

/// `server_audit_query_log_limit` default: escaped query text is cut at this many bytes.
pub(crate) const QUERY_LOG_LIMIT: usize = 1024;

impl Fmt {
    /// `[cw prefix]timestamp,serverhost,user,host,connid,queryid,`
    fn head(&mut self, b: &mut Vec<u8>, ts: i64, user: &str, host: &str, cid: i64, qid: i64) {
        self.set_sec(ts.div_euclid(US));
        if self.cw {
            b.extend_from_slice(&self.cw_txt);
            let ms = if self.flavor == Flavor::Aurora {
                (ts.rem_euclid(US) / MS) as u32
            } else {
                0
            };
            b.push(b'.');
            put3_push(b, ms);
            b.extend_from_slice(b"Z ");
        }
        if self.flavor == Flavor::Aurora {
            push_i64(b, ts);
        } else {
            b.extend_from_slice(&self.sec_txt);
        }
        b.push(b',');
        b.extend_from_slice(self.host);
        b.push(b',');
        b.extend_from_slice(user.as_bytes());
        b.push(b',');
        b.extend_from_slice(host.as_bytes());
        b.push(b',');
        push_i64(b, cid);
        b.push(b',');
        push_i64(b, qid);
        b.push(b',');
    }

    #[allow(clippy::too_many_arguments)]
    fn conn_line(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, cid: i64, op: &str, ret: u32) {
        self.head(b, ts, s.user, s.host, cid, 0);
        b.extend_from_slice(op.as_bytes());
        b.push(b',');
        b.extend_from_slice(s.db.as_bytes());
        b.extend_from_slice(b",,");
        push_i64(b, ret as i64);
        if self.flavor == Flavor::RdsMysql {
            b.push(b',');
            b.extend_from_slice(s.conn.text());
        }
        b.push(b'\n');
    }

    #[allow(clippy::too_many_arguments)]
    fn query_line(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        s: &Session,
        cid: i64,
        qid: i64,
        sql: &[u8],
        ret: u32,
    ) {
        self.head(b, ts, s.user, s.host, cid, qid);
        b.extend_from_slice(b"QUERY,");
        b.extend_from_slice(s.db.as_bytes());
        b.extend_from_slice(b",'");
        escape_into(b, sql, self.flavor == Flavor::Aurora);
        b.extend_from_slice(b"',");
        push_i64(b, ret as i64);
        if self.flavor == Flavor::RdsMysql {
            b.extend_from_slice(b",,");
        }
        b.push(b'\n');
    }

    #[allow(clippy::too_many_arguments)]
    fn table_line(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, cid: i64, qid: i64, t: Tab) {
        self.head(b, ts, s.user, s.host, cid, qid);
        b.extend_from_slice(t.0.as_bytes());
        b.push(b',');
        b.extend_from_slice(t.1.as_bytes());
        b.push(b',');
        b.extend_from_slice(t.2.as_bytes());
        b.push(b',');
        // Aurora samples show retcode 0 on READ/WRITE and empty on DDL table events.
        if self.flavor == Flavor::Aurora && (t.0 == "READ" || t.0 == "WRITE") {
            b.push(b'0');
        }
        b.push(b'\n');
    }
}

/// Writes `src` escaped as the audit plugin does, cut at `QUERY_LOG_LIMIT` bytes of escaped
/// text. New rule (MDEV-13921): `\b \t \n \f \r \' \\` as two-character escapes, other
/// whitespace as a space. Old rule (Aurora samples): only `\'` and `\\`, every whitespace
/// byte becomes one space. A cut never splits an escape or a UTF-8 character (decision: the
/// real plugin may split a character; we keep the corpus valid UTF-8).
pub(crate) fn escape_into(dst: &mut Vec<u8>, src: &[u8], old: bool) {
    let limit = QUERY_LOG_LIMIT;
    let start = dst.len();
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        let mut tmp = [0u8; 4];
        let out: &[u8] = match c {
            b'\'' => b"\\'",
            b'\\' => b"\\\\",
            b'\n' if !old => b"\\n",
            b'\t' if !old => b"\\t",
            b'\r' if !old => b"\\r",
            0x08 if !old => b"\\b",
            0x0c if !old => b"\\f",
            b'\n' | b'\t' | b'\r' | 0x08 | 0x0b | 0x0c => b" ",
            0x80.. => {
                let w = utf8_width(c).min(src.len() - i);
                tmp[..w].copy_from_slice(&src[i..i + w]);
                &tmp[..w]
            }
            _ => {
                tmp[0] = c;
                &tmp[..1]
            }
        };
        if dst.len() - start + out.len() > limit {
            break;
        }
        dst.extend_from_slice(out);
        i += if c >= 0x80 { out.len() } else { 1 };
    }
}

fn utf8_width(lead: u8) -> usize {
    match lead {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    }
}

impl Emitter {
    /// [`Emitter::emit`] for the MySQL-family flavors: a k-way merge of the slice's sessions
    /// into `server_audit` lines, spread over the lanes by connection id.
    pub(super) fn emit_mysql(&mut self, idx: usize, sp: &SlicePlan) {
        let (mut rng, mut heap) = self.start_slice(idx, sp);
        let ss = &sp.sessions;
        let nlanes = self.lanes.len() as i64;
        let table_events = self.env.flavor != Flavor::RdsMysql;
        let aurora = self.env.flavor == Flavor::Aurora;
        let mut next_conn = sp.conn_base;
        let mut next_q = sp.query_base;

        while let Some(Reverse((t, i))) = heap.pop() {
            let s = &ss[i as usize];
            let lv = &mut self.live[i as usize];
            let n = s.queries();
            if lv.step == 0 {
                let cid = next_conn;
                next_conn += 1;
                lv.conn = cid;
                let buf = &mut self.lanes[cid.rem_euclid(nlanes) as usize];
                if let Body::Failed { ret } = s.body {
                    self.fmt.conn_line(buf, t, s, cid, "FAILED_CONNECT", ret);
                    let dt = if aurora { range(&mut rng, 8, 40) } else { 0 };
                    self.fmt.conn_line(buf, t + dt, s, cid, "DISCONNECT", 0);
                    self.lines += 2;
                    continue;
                }
                self.fmt.conn_line(buf, t, s, cid, "CONNECT", 0);
                self.lines += 1;
                let nt = connected(s, lv, t, n, false, &mut rng);
                heap.push(Reverse((nt, i)));
            } else if lv.step <= n {
                let qid = next_q;
                next_q += 1;
                let cid = lv.conn;
                let buf = &mut self.lanes[cid.rem_euclid(nlanes) as usize];
                self.tabs.clear();
                self.sql.clear();
                let (ret, printed, sql): (u32, i64, &[u8]) = match &s.body {
                    Body::Script(stmts) => {
                        let st = &stmts[lv.step as usize - 1];
                        self.tabs.extend_from_slice(&st.tables);
                        (st.ret, t, st.sql.as_bytes())
                    }
                    Body::Pooled { app, regular, .. } => {
                        let remaining = n - lv.step + 1;
                        let ret = gen_app(
                            *app,
                            false,
                            lv,
                            &mut rng,
                            t,
                            remaining,
                            &mut self.sql,
                            &mut self.tabs,
                        );
                        // Aurora stamps statement start but writes at completion: mild disorder.
                        let printed = if aurora && !regular {
                            t - range(&mut rng, 0, 2 * MS)
                        } else {
                            t
                        };
                        (ret, printed, &self.sql[..])
                    }
                    Body::Failed { .. } | Body::Server(_) => {
                        unreachable!(
                            "only PostgreSQL plans server messages, and they have no queries"
                        )
                    }
                };
                if table_events {
                    let db = s.db;
                    for (k, tab) in self.tabs.iter().enumerate() {
                        let tab = if tab.1.is_empty() {
                            (tab.0, db, tab.2)
                        } else {
                            *tab
                        };
                        let tts = if aurora {
                            printed - 400 + 60 * k as i64
                        } else {
                            printed
                        };
                        self.fmt.table_line(buf, tts, s, cid, qid, tab);
                        self.lines += 1;
                    }
                }
                self.fmt.query_line(buf, printed, s, cid, qid, sql, ret);
                self.lines += 1;
                let nt = queried(s, lv, t, n, &mut rng);
                heap.push(Reverse((nt, i)));
            } else {
                let cid = lv.conn;
                let buf = &mut self.lanes[cid.rem_euclid(nlanes) as usize];
                self.fmt.conn_line(buf, t, s, cid, "DISCONNECT", 0);
                self.lines += 1;
            }
        }
        debug_assert_eq!(next_conn, sp.conn_base + ss.len() as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_new_and_old_rules() {
        let src = "select 'a',\\x\n\t2\r";
        let mut b = Vec::new();
        escape_into(&mut b, src.as_bytes(), false);
        assert_eq!(String::from_utf8(b).unwrap(), r"select \'a\',\\x\n\t2\r");
        let mut b = Vec::new();
        escape_into(&mut b, "CREATE TABLE t (\n  id INT\n)".as_bytes(), true);
        assert_eq!(String::from_utf8(b).unwrap(), "CREATE TABLE t (   id INT )");
        // The limit never splits an escape or a UTF-8 character.
        let long = "é'".repeat(400);
        let mut b = Vec::new();
        escape_into(&mut b, long.as_bytes(), false);
        assert!(b.len() <= QUERY_LOG_LIMIT && b.len() > QUERY_LOG_LIMIT - 4);
        let s = String::from_utf8(b).unwrap();
        assert!(s.ends_with("\\'") || s.ends_with('é'));
    }
}

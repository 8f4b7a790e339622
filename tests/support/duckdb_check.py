#!/usr/bin/env python3
"""Reads a scan's output back with DuckDB, as a user would, and checks it against the
contract: row count equals summary.json's records, columns and types are CONTRACT.md's,
event_time is a millisecond UTC timestamp, and the Hive partitions match the event dates.
usage: duckdb_check.py OUTDIR   (prints one JSON line; exit 1 with a message on mismatch)"""
import json
import sys

import duckdb

out = sys.argv[1]
summary = json.load(open(f"{out}/summary.json"))
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
src = f"read_parquet('{out}/events/**/*.parquet', hive_partitioning=true)"
problems = []

rows = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
if rows != summary["totals"]["records"]:
    problems.append(f"rows {rows} != summary records {summary['totals']['records']}")

want = {
    "event_time": "TIMESTAMP WITH TIME ZONE", "event_time_us": "BIGINT", "source_format": "VARCHAR",
    "server_host": "VARCHAR", "user": "VARCHAR", "client_host": "VARCHAR", "client_ip": "VARCHAR",
    "connection_id": "BIGINT", "query_id": "BIGINT", "operation": "VARCHAR", "database": "VARCHAR",
    "object": "VARCHAR", "retcode": "INTEGER", "tls": "BOOLEAN", "statement_class": "VARCHAR",
    "source_file": "VARCHAR", "source_line": "BIGINT",
    "client_country": "VARCHAR", "client_asn": "BIGINT", "client_as_org": "VARCHAR",
}
cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
for name, typ in want.items():
    if cols.get(name) != typ:
        problems.append(f"column {name}: {cols.get(name)} != {typ}")
extra = set(cols) - set(want) - {"dt"}
if extra:
    problems.append(f"unexpected columns {sorted(extra)}")

# The physical type: INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=true).
files = con.execute(f"SELECT file FROM glob('{out}/events/**/*.parquet')").fetchall()
for (f,) in files[:3]:
    meta = con.execute(
        f"SELECT type, logical_type, converted_type FROM parquet_schema('{f}') WHERE name='event_time'"
    ).fetchone()
    text = " ".join(str(x) for x in meta)
    if "INT64" not in text or "MILLIS" not in text or "isAdjustedToUTC=1" not in text.replace(" ", "").replace("true", "1"):
        problems.append(f"event_time physical type in {f}: {meta}")
    comp = {r[0] for r in con.execute(f"SELECT compression FROM parquet_metadata('{f}')").fetchall()}
    if comp != {"ZSTD"}:
        problems.append(f"compression in {f}: {comp}")

# event_time (ms) agrees with event_time_us, and partitions hold their own day.
bad = con.execute(
    f"""SELECT count(*) FROM {src} WHERE epoch_ms(event_time) != event_time_us // 1000
        OR strftime(event_time, '%Y-%m-%d') != CAST(dt AS VARCHAR)"""
).fetchone()[0]
if bad:
    problems.append(f"{bad} rows whose event_time or dt disagree with event_time_us")

fcols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{out}/findings.parquet'").fetchall()}
fwant = {"kind": "VARCHAR", "severity": "VARCHAR", "first_seen": "TIMESTAMP WITH TIME ZONE",
         "last_seen": "TIMESTAMP WITH TIME ZONE", "user": "VARCHAR", "client_ip": "VARCHAR",
         "database": "VARCHAR", "count": "BIGINT", "detail": "VARCHAR", "evidence": "VARCHAR",
         "finding_id": "VARCHAR", "resource": "VARCHAR",
         "client_country": "VARCHAR", "client_asn": "BIGINT", "client_as_org": "VARCHAR"}
if fcols != fwant:
    problems.append(f"findings columns {fcols}")
findings = con.execute(f"SELECT count(*) FROM '{out}/findings.parquet'").fetchone()[0]
ids = con.execute(f"SELECT count(DISTINCT finding_id) FROM '{out}/findings.parquet'").fetchone()[0]
if ids != findings:
    problems.append(f"{findings} findings but {ids} distinct finding_id")

# profile.parquet (issue #22): its columns, and one `user` row per user with a login.
pcols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{out}/profile.parquet'").fetchall()}
pwant = {"user": "VARCHAR", "dimension": "VARCHAR", "value": "VARCHAR", "label": "VARCHAR",
         "count": "BIGINT", "first_seen": "TIMESTAMP WITH TIME ZONE",
         "last_seen": "TIMESTAMP WITH TIME ZONE", "first_seen_us": "BIGINT", "last_seen_us": "BIGINT"}
if pcols != pwant:
    problems.append(f"profile columns {pcols}")
profile_logins = con.execute(
    f"SELECT coalesce(sum(count), 0) FROM '{out}/profile.parquet' WHERE dimension = 'user'").fetchone()[0]
if profile_logins != summary["totals"]["sessions"]:
    problems.append(f"profile logins {profile_logins} != summary sessions {summary['totals']['sessions']}")

# sessions.parquet: the README's columns; one row per login the summary counts, every event
# in one session; times as events have them.
sess = f"'{out}/sessions.parquet'"
scols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {sess}").fetchall()}
ts, big = "TIMESTAMP WITH TIME ZONE", "BIGINT"
swant = {"server_host": "VARCHAR", "connection_id": big, "user": "VARCHAR", "client_host": "VARCHAR",
         "client_ip": "VARCHAR", "login_time": ts, "login_time_us": big, "logout_time": ts,
         "logout_time_us": big, "duration_us": big, "login_operation": "VARCHAR",
         "login_result": "VARCHAR", "tls": "BOOLEAN", "first_event_time": ts, "last_event_time": ts,
         "events": big, "statements": big, "statements_privilege": big,
         "statements_destructive": big, "statements_exfiltration": big, "statements_ddl": big,
         "statements_write": big, "statements_read": big, "statements_other": big,
         "statements_code_execution": big, "statements_audit": big, "statements_tls": big,
         "databases": "VARCHAR[]", "first_evidence": "VARCHAR", "last_evidence": "VARCHAR",
         "client_country": "VARCHAR", "client_asn": big, "client_as_org": "VARCHAR"}
if scols != swant:
    problems.append(f"sessions columns {scols}")
logins, events_in_sessions, sessions = con.execute(
    f"""SELECT count(*) FILTER (WHERE login_operation IN ('CONNECT','CHANGEUSER','PROXY_CONNECT')),
        sum(events), count(*) FROM {sess}""").fetchone()
if logins != summary["totals"]["sessions"]:
    problems.append(f"sessions with a login {logins} != summary sessions {summary['totals']['sessions']}")
if events_in_sessions != summary["totals"]["records"]:
    problems.append(f"events in sessions {events_in_sessions} != records {summary['totals']['records']}")
meta = con.execute(
    f"SELECT type, logical_type FROM parquet_schema({sess}) WHERE name='login_time'").fetchone()
if "INT64" not in str(meta) or "MILLIS" not in str(meta):
    problems.append(f"login_time physical type {meta}")

print(json.dumps({"rows": rows, "files": len(files), "findings": findings, "sessions": sessions,
                  "problems": problems}))
sys.exit(1 if problems else 0)

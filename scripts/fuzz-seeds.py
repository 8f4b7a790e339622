#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets to fuzz/seeds/<target>/ from testdata/ (and the
real-world cases in ../shared/cases/ when they are there). Deterministic; the output is
committed, so `cargo test` replays it (tests/fuzz_regressions.rs) without this script.

Log targets take a control byte before the file (src/fuzzing.rs): bits 0-1 dialect, bit 2
at_eof, bit 3 custom timestamp layout, bits 4-7 where to cut the file in two chunks.
"""

import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "seeds")
CASES = os.path.join(ROOT, "..", "shared", "cases", "realworld")
if not os.path.isdir(CASES):
    CASES = "/work/shared/cases/realworld"
# Small seeds mutate fast; a few KiB of a log holds every shape it has.
MAX_SEED = 4096

seeds = {}


def add(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, []).append((name, data))


def head_lines(path, limit=MAX_SEED):
    with open(path, "rb") as f:
        data = f.read(limit)
    cut = data.rfind(b"\n")
    return data[: cut + 1] if cut > 0 else data


samples = []
with open(os.path.join(ROOT, "testdata", "parse-samples.jsonl")) as f:
    for line in f:
        if line.strip():
            samples.append(json.loads(line))

by_family = {"mysql": [], "postgres": []}
for i, s in enumerate(samples):
    fam = "postgres" if s["source_format"] == "postgres" else "mysql"
    by_family[fam].append(s["line"])
    ctl = 0x04 if i % 2 else 0x00
    add(fam, f"sample-{i:02}", bytes([ctl]) + s["line"].encode() + b"\n")
    add("cloudwatch_export", f"sample-{i:02}",
        b"\x00" + b"2023-05-01T10:02:19.123Z " + s["line"].encode() + b"\n")

# Whole small files, cut in two chunks (control 0x84: cut at half, at end of input).
for fam, lines in by_family.items():
    add(fam, "all-samples", b"\x84" + "\n".join(lines).encode() + b"\n")
    add(fam, "all-samples-crlf-unterminated",
        b"\x60" + "\r\n".join(lines).encode())
add("cloudwatch_export", "all-mysql",
    b"\x81" + "".join(f"2023-05-01T10:02:{i:02}.000Z {l}\n"
                      for i, l in enumerate(by_family["mysql"])).encode())
add("cloudwatch_export", "all-postgres",
    b"\x83" + "".join(f"2019-08-09T18:00:{i:02}Z {l}\n"
                      for i, l in enumerate(by_family["postgres"])).encode())
sample = os.path.join(ROOT, "testdata", "sample", "audit", "server_audit.log")
add("mysql", "server_audit-head", b"\x84" + head_lines(sample))
# MariaDB >= 12 custom layout (control bit 3 reads `%Y-%m-%d %H:%M:%S`).
add("mysql", "custom-layout",
    b"\x8c2026-03-01 21:34:56,db1,root,localhost,12,0,CONNECT,mysql,,0\n"
    b"2026-03-01 21:34:57,db1,root,10.0.0.5:3306,12,7,QUERY,test,'select 1',0\n"
    b"20230501 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0\n")

for sub, target, ctl in [
    ("mariadb-audit", "mysql", 0x84),
    ("aurora-audit", "mysql", 0x87),
    ("postgres-stderr", "postgres", 0x84),
    ("postgres-csvlog", "postgres_csv", 0x84),
]:
    d = os.path.join(CASES, sub)
    if not os.path.isdir(d):
        continue
    for name in sorted(os.listdir(d)):
        add(target, os.path.splitext(name)[0], bytes([ctl]) + head_lines(os.path.join(d, name)))

# CloudWatch JSON: the shapes AWS delivers, around messages of every family.
msgs = [s["line"] for s in samples]
events = [{"logStreamName": "db1", "timestamp": 1682935339000 + i, "message": m,
           "ingestionTime": 1682935340000, "eventId": f"3{i:055}"}
          for i, m in enumerate(msgs)]
add("cloudwatch_json", "filter-log-events",
    b"\x00" + json.dumps({"events": events[:8], "searchedLogStreams": []}, indent=1).encode())
add("cloudwatch_json", "pages",
    b"\x00" + json.dumps({"events": events[8:16]}).encode() + b"\n"
    + json.dumps({"events": events[16:], "nextToken": "x"}).encode())
sub = {"messageType": "DATA_MESSAGE", "owner": "123456789012",
       "logGroup": "/aws/rds/instance/db1/audit", "logStream": "db1",
       "subscriptionFilters": ["f"],
       "logEvents": [{"id": e["eventId"], "timestamp": e["timestamp"], "message": e["message"]}
                     for e in events[:6]]}
ctrl = {"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
        "logStream": "", "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": 1682935339000, "message": "CWL CONTROL MESSAGE"}]}
add("cloudwatch_json", "subscription", b"\x00" + (json.dumps(sub) + json.dumps(ctrl)).encode())
add("cloudwatch_json", "array",
    b"\x00" + json.dumps([{"timestamp": 1682935339000, "message": "  "},
                          {"timestamp": 1682935339001},
                          {"timestamp": 1682935339002, "message": msgs[-1] + "\r\n"}]).encode())
add("cloudwatch_json", "truncated", b"\x00" + json.dumps(sub).encode()[:300])

# Filter patterns with the messages of their reference cases.
with open(os.path.join(ROOT, "testdata", "cloudwatch-filter.tsv")) as f:
    for row in f:
        if row.startswith("#") or not row.strip():
            continue
        parts = row.rstrip("\n").split("\t")
        if len(parts) < 3:
            continue
        cid, pattern, message = parts[0], parts[1], parts[2]
        add("filter", f"case-{cid}", b"\x00" + pattern.encode() + b"\n" + message.encode())
add("filter", "json", b'\x00{ ($.user = "admin*") && ($.n >= 2.5e1 || $.a[0].b IS TRUE) }\n'
    b'{"user":"admin1","n":30,"a":[{"b":true}]}')
add("filter", "regex", b"\x00%DROP\\s+[A-Z]+ [a-z_]{1,9}%\nQUERY,'DROP TABLE tab'")
add("filter", "strict", b"\x03ERROR ?WARN -\"debug mode\"\nWARN x")

# Config files.
readme = open(os.path.join(ROOT, "README.md")).read()
start = readme.find("```toml")
if start >= 0:
    add("config", "readme", readme[start + 7: readme.find("```", start + 7)])
add("config", "rules", '''\
allow = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]
master_users = []
timestamp_format = "%d/%b/%Y:%T"
utc_offset = "-0530"
brute_force_window = "30s"
rate_window = "2d"
brute_force_success_delay = "90"

[[rule]]
name = "drop"
pattern = '%DROP\\s+TABLE%'
severity = "high"

[[rule]]
name = "fields"
pattern = "[ts, host, user=admin*, ...]"

[[rule]]
name = "json"
pattern = '{ $.user = "x" }'
severity = "low"
''')

# Time forms: the first line an argument, the second a timestamp field.
for name, text in [
    ("rfc3339", "2026-03-01T12:00:00.5+02:00\n20230501 10:02:19"),
    ("date", "2026-03-01\n2025-02-03 08:00:01"),
    ("duration", "90m\n2023-05-01T10:02:19.123456789Z x"),
    ("weeks", "2w\n1653053459680124"),
    ("offset", "+05:30\n2025-02-03 08:00:01.123 UTC"),
    ("layout", "%d/%b/%Y:%T\n01/Mar/2026:21:34:56,db,u"),
    ("layout-frac", "%Y-%m-%dT%H:%M:%S%.f\n2026-03-01T21:34:56.123456,x"),
    ("net", "172.16.0.0/12\n"),
]:
    add("time", name, text)

if os.path.isdir(OUT):
    shutil.rmtree(OUT)
total = 0
for target, items in sorted(seeds.items()):
    d = os.path.join(OUT, target)
    os.makedirs(d)
    for name, data in items:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        total += len(data)
print(f"{sum(len(v) for v in seeds.values())} seeds, {total} bytes, in {OUT}", file=sys.stderr)

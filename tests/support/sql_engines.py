#!/usr/bin/env python3
"""Runs `forensics sql` queries on a real engine and prints their findings as JSON lines, one
per query: {"name": ..., "rows": [[kind, severity, first_seen_ms, last_seen_ms, user,
client_ip, database, count, resource], ...], "seconds": ...}; also the scan's own findings.parquet
(read by DuckDB) when asked with `--expected`.

usage: sql_engines.py ENGINE NAME=QUERYFILE...      ENGINE: duckdb or spark
       sql_engines.py expected NAME=OUTDIR...
       sql_engines.py athena NAME=QUERYFILE...       (EVENTS_NAME: the events folder)

A query written for `--events events_NAME` reads the events folder in `EVENTS_NAME`, and
one written for `--control control_NAME` the control folder in `CONTROL_NAME` (Spark and
the Athena text), as views of those names.

`athena` is not Athena: the Trino query is translated by sqlglot (its Trino reader) to DuckDB,
with DuckDB macros for the two Trino functions sqlglot leaves as they are (`from_base`,
`from_unixtime_nanos`) and DuckDB's integer division (sqlglot keeps Trino's `/`), and run
over a view named as the query's table. It checks the Athena text parses as Trino and means
what the other dialects mean, short of running Athena.

Spark runs in local mode, one session for all the queries (a session takes seconds to
start), bound to loopback with its web UI off. DuckDB and Spark both read the events
Parquet; their timestamps are turned into epoch milliseconds here so the comparison does not
depend on a session time zone."""
import json
import os
import sys
import time

engine = sys.argv[1]
jobs = [a.split("=", 1) for a in sys.argv[2:]]

COLS = "kind, severity, first_seen, last_seen, user, client_ip, database, count"


def emit(name, rows, seconds):
    print(json.dumps({"name": name, "rows": rows, "seconds": round(seconds, 3)}), flush=True)


def ms(ts):
    if ts is None:
        return None
    if ts.tzinfo is None:  # Athena's timestamp(3) has no zone: its wall time is UTC
        import datetime
        ts = ts.replace(tzinfo=datetime.timezone.utc)
    return int(round(ts.timestamp() * 1000))


def norm(r):
    # The query's columns: ..., count, detail, evidence, resource; the expected ones end
    # with resource.
    resource = r[10] if len(r) > 10 else (r[8] if len(r) == 9 else None)
    return [r[0], r[1], ms(r[2]), ms(r[3]), r[4], r[5], r[6], r[7], resource]


if engine == "athena":
    import duckdb
    import sqlglot

    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET integer_division = true")
    con.execute("CREATE MACRO from_base(s, b) AS CAST(('0x' || s) AS BIGINT)")
    con.execute("CREATE MACRO from_unixtime_nanos(n) AS make_timestamptz(CAST(n AS BIGINT) // 1000)")
    for name, arg in jobs:
        events = os.environ.get(f"EVENTS_{name}")
        if events:
            con.execute(f"CREATE OR REPLACE VIEW events_{name} AS SELECT * FROM read_parquet('{events}/**/*.parquet', hive_partitioning = true)")
        control = os.environ.get(f"CONTROL_{name}")
        if control:
            con.execute(f"CREATE OR REPLACE VIEW control_{name} AS SELECT * FROM read_parquet('{control}/**/*.parquet', hive_partitioning = true)")
        q = sqlglot.transpile(open(arg).read(), read="trino", write="duckdb")[0]
        t = time.time()
        rows = con.execute(q).fetchall()
        emit(name, [norm(r) for r in rows], time.time() - t)
elif engine in ("duckdb", "expected"):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    for name, arg in jobs:
        t = time.time()
        if engine == "expected":
            q = f"SELECT kind, severity, first_seen, last_seen, \"user\", client_ip, database, count, resource FROM read_parquet('{arg}/findings.parquet')"
        else:
            q = open(arg).read()
        rows = con.execute(q).fetchall()
        emit(name, [norm(r) for r in rows], time.time() - t)
elif engine == "spark":
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("forensics-sql-parity")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "1"))
        .config("spark.ui.showConsoleProgress", "false")
        # The control plane's query is a large plan (Spark copies each common table
        # expression into every place that reads it): 1 GiB ran out planning it in a session
        # that had run the others.
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "3g"))
    )
    if not os.environ.get("SPARK_DEFAULTS"):
        # The query is many small steps over small data: compiling each stage (whole-stage
        # code generation) and re-planning it (adaptive execution) cost more than they save
        # (31 s instead of 117 s for a 4 MiB corpus on a busy 2-core machine).
        spark = (spark.config("spark.sql.codegen.wholeStage", "false")
                 .config("spark.sql.adaptive.enabled", "false"))
    spark = spark.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for name, arg in jobs:
        q = open(arg).read().strip().rstrip(";")
        # A query written for `--events events_NAME` reads the events folder given in the
        # environment, cached once: the query reads the events many times over.
        view = f"events_{name}"
        if view in q:
            # Every Parquet file below (a glob may name several shards' `events` folders,
            # which Spark will not infer partitions across; the query needs no `dt`).
            (spark.read.option("recursiveFileLookup", "true")
             .parquet(os.environ[f"EVENTS_{name}"]).cache().createOrReplaceTempView(view))
        if f"control_{name}" in q:
            (spark.read.option("recursiveFileLookup", "true")
             .parquet(os.environ[f"CONTROL_{name}"]).createOrReplaceTempView(f"control_{name}"))
        t = time.time()
        rows = spark.sql(q).collect()
        emit(name, [norm(list(r)) for r in rows], time.time() - t)
        spark.catalog.clearCache()
    spark.stop()
else:
    sys.exit(f"unknown engine {engine}")

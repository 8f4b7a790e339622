#!/usr/bin/env python3
"""Rewrites Firehose / subscription deliveries (concatenated JSON objects on stdin, plain)
as `aws logs filter-log-events` output on stdout: pages of PER_PAGE events (default 10000;
0: one page of every event), pretty-printed with a 4-space indent as the AWS CLI prints
them, concatenated. CONTROL_MESSAGE objects are left out. Reads and writes in a stream, so
files of gigabytes go through in little memory."""
import json
import sys

PER_PAGE = int(sys.argv[1]) if len(sys.argv) > 1 else 10000


def objects(stream):
    dec = json.JSONDecoder()
    buf = ""
    while True:
        data = stream.read(1 << 22)
        buf += data
        pos = 0
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            try:
                obj, end = dec.raw_decode(buf, pos)
            except json.JSONDecodeError:
                break
            yield obj
            pos = end
        buf = buf[pos:]
        if not data:
            if buf.strip():
                raise SystemExit("trailing data that is not JSON")
            return


def main():
    out = sys.stdout
    page = []
    n = 0

    def flush(last):
        nonlocal n
        if not page and not (last and n == 0):
            return
        body = ",\n".join(
            "        " + json.dumps(e, indent=4).replace("\n", "\n        ") for e in page
        )
        out.write('{\n    "events": [\n' + body + '\n    ],\n    "searchedLogStreams": [],\n')
        out.write('    "nextToken": "Bxkq6kVGFtq2y_MoigeqscPOdhXVbhiVtLoAmXb5jCrI%d"\n}\n' % n)
        n += 1
        page.clear()

    for doc in objects(sys.stdin):
        if doc.get("messageType") != "DATA_MESSAGE":
            continue
        for e in doc["logEvents"]:
            page.append(
                {
                    "logStreamName": doc["logStream"],
                    "timestamp": e["timestamp"],
                    "message": e["message"],
                    "ingestionTime": e["timestamp"] + 700,
                    "eventId": e["id"],
                }
            )
            if PER_PAGE and len(page) >= PER_PAGE:
                flush(False)
    flush(True)


main()

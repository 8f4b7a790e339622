#!/usr/bin/env bash
# One job of a sharded scan (issue #20): job I of N scans its share of the audit logs under
# an S3 prefix and uploads its output folder, so that N jobs together leave under OUTPUT:
#
#   OUTPUT/shard=I-of-N/...                  each job's whole output folder (summary.json last)
#   OUTPUT/findings/shard=I-of-N/findings.parquet   copies for the Athena tables that
#   OUTPUT/sessions/shard=I-of-N/sessions.parquet   `forensics athena-ddl --shards N` declares
#   OUTPUT/profile/shard=I-of-N/profile.parquet
#
# The Athena query (`forensics sql --dialect athena`) then runs over all the jobs' events
# (and `control/`, when the input holds the CloudTrail; else add --no-control).
#
# env: INPUT   s3://bucket/prefix of the logs (or a local folder: used in place)
#      OUTPUT  s3://bucket/prefix for the results (or a local folder)
#      SHARDS  N
#      the job's index, 0-based, from the scheduler: JOB_COMPLETION_INDEX (Kubernetes Indexed
#      Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job); SHARD_INDEX (1-based) wins.
#      FORENSICS_ARGS  more scan flags (--allow ..., --master-user ..., --config FILE)
#      WORK    scratch folder (default /scratch)
set -euo pipefail
: "${INPUT:?}" "${OUTPUT:?}" "${SHARDS:?}"
if [ -n "${SHARD_INDEX:-}" ]; then
  i=$SHARD_INDEX
else
  i=$(( ${JOB_COMPLETION_INDEX:-${AWS_BATCH_JOB_ARRAY_INDEX:?no job index}} + 1 ))
fi
shard="$i-of-$SHARDS"
work=${WORK:-/scratch}
mkdir -p "$work"

# Every job lists the same inputs and computes the same deal (by size), so each needs the
# whole listing but reads only its share. `aws s3 sync` here copies everything; on a node
# with the bucket mounted (Mountpoint for Amazon S3, s3fs) point INPUT at the mount instead.
case "$INPUT" in
  s3://*) aws s3 sync --only-show-errors "$INPUT" "$work/logs"; logs=$work/logs ;;
  *) logs=$INPUT ;;
esac

# shellcheck disable=SC2086 # FORENSICS_ARGS is a list of flags
forensics scan "$logs" -o "$work/out" --shard "$i/$SHARDS" --quiet --force ${FORENSICS_ARGS:-}

area="$work/out/shard=$shard"
case "$OUTPUT" in
  s3://*)
    # summary.json last: a reader that sees it sees the shard's whole folder.
    aws s3 sync --only-show-errors --exclude summary.json "$area" "$OUTPUT/shard=$shard"
    aws s3 cp --only-show-errors "$area/summary.json" "$OUTPUT/shard=$shard/summary.json"
    for t in findings sessions profile; do
      [ -f "$area/$t.parquet" ] && aws s3 cp --only-show-errors "$area/$t.parquet" "$OUTPUT/$t/shard=$shard/$t.parquet"
    done
    ;;
  *)
    mkdir -p "$OUTPUT"
    rm -rf "$OUTPUT/shard=$shard.tmp" && cp -r "$area" "$OUTPUT/shard=$shard.tmp"
    rm -rf "$OUTPUT/shard=$shard" && mv "$OUTPUT/shard=$shard.tmp" "$OUTPUT/shard=$shard"
    for t in findings sessions profile; do
      if [ -f "$area/$t.parquet" ]; then
        mkdir -p "$OUTPUT/$t/shard=$shard" && cp "$area/$t.parquet" "$OUTPUT/$t/shard=$shard/"
      fi
    done
    ;;
esac
echo "shard $shard done: $OUTPUT/shard=$shard"

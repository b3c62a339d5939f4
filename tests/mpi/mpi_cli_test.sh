#!/usr/bin/env bash
# End-to-end tests of `sluice run` under mpirun on this machine (loopback only):
#   compare SLUICE MPIRUN RANKS WORKERS DIR  N ranks of W workers give the one-process output
#   kill SLUICE MPIRUN DIR                    a rank killed mid-stream ends the job, named, < 30 s
#   throw SLUICE MPIRUN DIR                   a rank that fails ends the job, named, < 30 s
#   stop SLUICE MPIRUN DIR                    a rank that stops answering is named, < 30 s
#   resume SLUICE MPIRUN RANKS DIR            killed again and again, --resume ends with the
#                                             windows of an uninterrupted run
set -euo pipefail
mode=$1 sluice=$2 mpirun=$3
shift 3

launch=("$mpirun" --oversubscribe --bind-to none --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
if [ "$(id -u)" -eq 0 ]; then launch+=(--allow-run-as-root); fi

fail() { echo "FAIL: $*" >&2; exit 1; }

# Random out-of-order telemetry: times increase by 3 ms on average and move up to 200 ms either
# way (so within the 500 ms watermark delay of any earlier row); 1 % of the rows in the last tenth are an hour old
# (late on every rank). Hosts are Zipf-like, zones 0-9, status mostly 200.
generate() {  # ROWS SEED FILE
  awk -v rows="$1" -v seed="$2" 'BEGIN {
    srand(seed); t = 1700000000000; print "ts,host,zone,cpu,status";
    for (i = 0; i < rows; i++) {
      t += 1 + int(rand() * 5);
      ts = t + int(rand() * 401) - 200;
      if (i > rows * 0.9 && rand() < 0.01) ts -= 3600000;
      h = int(60 * rand() * rand());
      s = rand() < 0.8 ? 200 : (rand() < 0.5 ? 404 : 500);
      printf "%.0f,host-%d,%d,%.3f,%d\n", ts, h, int(rand() * 10), rand() * 100, s;
    }
  }' > "$3"
}

schema=ts:i64,host:string,zone:i32,cpu:f64,status:i32
# The queries: tumbling and sliding windows, one and two keys (strings and integers), filters,
# a threshold per host from broadcast state (limits.csv: every rank reads it whole).
# Aggregates whose result does not depend on the order partials are combined in.
queries=(
  "--window tumbling:2s --key host --agg count,sum(status),min(cpu),max(cpu) --where status==200"
  "--window sliding:6s/2s --key host,zone --agg count,max(cpu),sum(zone)"
  "--window tumbling:1s --key zone --agg count,sum(status),max(cpu) --where cpu>50"
  "--window tumbling:2s --key zone --agg count,max(cpu) --where cpu>limits.max_cpu --broadcast limits=limits.csv:host"
)

summary_counts() {  # the counters of the summary line: events, filtered, late, malformed, windows
  grep -o 'events=[0-9]* filtered=[0-9]* late=[0-9]* malformed=[0-9]* windows=[0-9]*' "$1"
}

case "$mode" in
compare)
  ranks=$1 workers=$2 dir=$3
  mkdir -p "$dir" && cd "$dir"
  generate 60000 $((ranks * 10 + workers)) in.csv
  awk 'BEGIN { print "host,max_cpu"; for (h = 0; h < 60; h++) if (h % 7 != 3) print "host-" h "," (h * 37) % 100 }' > limits.csv
  # The same data as one file per rank (contiguous parts, each with the header).
  total=$(($(wc -l < in.csv) - 1))
  for ((r = 0; r < ranks; r++)); do
    { head -1 in.csv; tail -n +2 in.csv | sed -n "$((r * total / ranks + 1)),$(((r + 1) * total / ranks))p"; } > "part-$r.csv"
  done
  q=0
  for query in "${queries[@]}"; do
    q=$((q + 1))
    # shellcheck disable=SC2086
    common=(--schema "$schema" --time ts --max-delay 500ms --allowed-lateness 1s $query
            --batch-rows 3000)
    "$sluice" run --input in.csv "${common[@]}" --output one.csv 2> one.log ||
      { cat one.log >&2; fail "query $q: one process failed"; }
    "${launch[@]}" -np "$ranks" "$sluice" run --input in.csv "${common[@]}" --workers "$workers" \
      --output many.csv 2> many.log || { cat many.log >&2; fail "query $q: mpirun failed"; }
    # Rows of a window are ordered by key; string keys by their dictionary code, which follows
    # the order each process first met them in: compare string-keyed outputs as sets of lines.
    if [[ "$query" == *"--key host"* ]]; then
      cmp <(sort one.csv) <(sort many.csv) || fail "query $q: $ranks ranks x $workers workers differ"
    else
      cmp one.csv many.csv || fail "query $q: $ranks ranks x $workers workers differ"
    fi
    [ "$(summary_counts one.log)" = "$(summary_counts many.log)" ] ||
      fail "query $q: counters differ: $(summary_counts one.log) vs $(summary_counts many.log)"
    grep -q "late=0 " one.log && fail "query $q: the data has no late rows"
    # One input per rank, and one output per rank: together the same windows.
    rm -f out-*.csv
    "${launch[@]}" -np "$ranks" "$sluice" run --input 'part-{rank}.csv' "${common[@]}" \
      --workers "$workers" --output 'out-{rank}.csv' 2> parts.log ||
      { cat parts.log >&2; fail "query $q: per-rank run failed"; }
    cmp <(tail -q -n +2 one.csv | sort) <(tail -q -n +2 out-*.csv | sort) ||
      fail "query $q: per-rank inputs and outputs differ"
    echo "query $q: $ranks ranks x $workers workers = one process ($(summary_counts many.log))"
  done
  ;;
kill | throw | stop)
  dir=$1
  mkdir -p "$dir" && cd "$dir"
  rm -f part-*.csv out-*.csv
  generate 200000 7 part-0.csv
  cp part-0.csv part-2.csv
  common=(--schema "$schema" --time ts --max-delay 500ms --window tumbling:1s --key host,zone
          --agg count --batch-rows 2000 --input 'part-{rank}.csv')
  if [ "$mode" != throw ]; then
    # Rank 1 reads a pipe that is fed a little and then stalls: the job waits for it, mid-stream.
    mkfifo part-1.csv
    (head -5000 part-0.csv; exec sleep 120) > part-1.csv 2> /dev/null &
    feeder=$!
    output=(--output many.csv --peer-timeout 3s)
  else
    # Rank 1 writes its windows to a full disk: it fails at its first result batch.
    cp part-0.csv part-1.csv
    ln -s /dev/full out-1.csv
    output=(--output 'out-{rank}.csv')
  fi
  start=$(date +%s)
  "${launch[@]}" -np 3 "$sluice" run "${common[@]}" "${output[@]}" > run.log 2>&1 &
  job=$!
  if [ "$mode" != throw ]; then
    victim=""
    for _ in $(seq 1 300); do
      for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = sluice ] || continue
        if tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then
          victim=${p#/proc/}
        fi
      done
      [ -n "$victim" ] && break
      sleep 0.1
    done
    [ -n "$victim" ] || fail "rank 1 never started"
    sleep 1
    start=$(date +%s)
    if [ "$mode" = kill ]; then kill -9 "$victim"; else kill -STOP "$victim"; fi
  fi
  rc=0
  for _ in $(seq 1 300); do
    kill -0 "$job" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$job" 2>/dev/null; then
    kill -9 "$job" 2>/dev/null || true
    [ -n "${feeder:-}" ] && kill "$feeder" 2>/dev/null || true
    cat run.log >&2
    fail "the job still runs 30 s after rank 1 ${mode} (kill: died, throw: failed, stop: stopped)"
  fi
  wait "$job" || rc=$?
  elapsed=$(($(date +%s) - start))
  [ -n "${feeder:-}" ] && { kill "$feeder" 2>/dev/null || true; }
  cat run.log
  [ "$rc" -ne 0 ] || fail "mpirun exited 0"
  grep -q 'rank 1' run.log || fail "no message names rank 1"
  if [ "$mode" = throw ]; then
    grep -q 'rank 1 failed' run.log || fail "the other ranks do not name rank 1"
    grep -q 'cannot write output' run.log || fail "rank 1's cause is not reported"
  fi
  if [ "$mode" = stop ]; then
    grep -q 'rank 1 did not answer within 3000 ms' run.log || fail "the other ranks do not name rank 1"
    kill -CONT "$victim" 2> /dev/null || true
  fi
  echo "$mode: the job ended with exit code $rc after ${elapsed} s, naming rank 1"
  ;;
resume)
  ranks=$1 dir=$2
  mkdir -p "$dir" && cd "$dir"
  rm -rf ck many.csv
  generate 400000 11 in.csv
  # Aggregates exact in any order (counts, integer sums, max), so windows can be compared as
  # values whatever the rounds' composition (batches cut by time under mpirun).
  common=(--schema "$schema" --time ts --max-delay 500ms --allowed-lateness 1s
          --window sliding:6s/2s --key host --agg "count,max(cpu),sum(zone)" --batch-rows 2000
          --read-block 64k --input in.csv)
  "$sluice" run "${common[@]}" --output one.csv 2> one.log || { cat one.log >&2; fail "one process failed"; }
  finals() {  # the last row of each (window, key): what a reader of the output keeps
    tail -n +2 "$1" | awk -F, '{ last[$1 "," $2 "," $3] = $0 } END { for (k in last) print last[k] }' | sort
  }
  kills=0 resumed=0 delay=0.3
  for life in $(seq 1 60); do
    "${launch[@]}" -np "$ranks" "$sluice" run "${common[@]}" --output many.csv \
      --checkpoint-dir ck --checkpoint-every 0 --resume > "life-$life.log" 2>&1 &
    job=$!
    sleep "$delay"
    if ! kill -0 "$job" 2>/dev/null; then
      wait "$job" || { cat "life-$life.log" >&2; fail "life $life: mpirun failed"; }
      break
    fi
    # A crash of the whole job: every rank killed at once, then the launcher.
    pkill -KILL -f "^$sluice run" || true
    kill -9 "$job" 2>/dev/null || true
    wait "$job" 2>/dev/null || true
    kills=$((kills + 1))
    grep -q "resuming from" "life-$life.log" && resumed=$((resumed + 1))
    delay=$(awk -v d="$delay" 'BEGIN { print d * 1.15 }')
  done
  [ "$kills" -ge 3 ] || fail "only $kills kills: the run ended too soon"
  [ "$resumed" -ge 1 ] || fail "no kill came after a checkpoint"
  ls ck/rank-0 ck/rank-1 > /dev/null || fail "no checkpoint directory per rank"
  cmp <(finals one.csv) <(finals many.csv) || fail "$ranks ranks killed $kills times differ"
  echo "resume: $ranks ranks killed $kills times ($resumed after a checkpoint) give the windows of one uninterrupted process"
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac

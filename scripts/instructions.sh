#!/usr/bin/env bash
# The instruction-count guard: counts, under valgrind's callgrind, the
# instructions chan spends per operation on fixed single-thread workloads
# (`benches/src/bin/instr_guard.rs`: send/receive pairs and a 4-arm
# select; `seq_cost.rs` for the 64-byte messages of `seq64`; and
# `async_pingpong.rs`) and compares them with the committed
# baseline `benches/instructions.txt`. Instruction counts are repeatable for
# one binary whatever else the machine does, so unlike timings they can
# gate CI.
#
# Each count is (Ir at 2K operations - Ir at K operations) / K, so start-up
# and channel construction cancel out.
#
# Usage:
#   scripts/instructions.sh            check: fail if a count grew by more
#                                      than the tolerance
#   scripts/instructions.sh --update   rewrite the baseline with today's
#                                      counts (commit it with the reason)
#
# Environment (optional):
#   INSTR_TOLERANCE_PCT   allowed growth in percent (default 5)
#   INSTR_K               operations in the shorter run (default 100000)
#
# Workloads with more than one thread (a rendezvous handoff, say) are not
# counted: their spin and park decisions depend on timing, so their counts
# are not repeatable.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

baseline="benches/instructions.txt"
tolerance="${INSTR_TOLERANCE_PCT:-5}"
k="${INSTR_K:-100000}"
update=false
[[ "${1:-}" == "--update" ]] && update=true

command -v valgrind >/dev/null || {
    echo "instructions: valgrind is not installed" >&2
    exit 1
}

export CARGO_TERM_COLOR=never
cargo build --quiet --release -p chan-benches --bin instr_guard --bin async_pingpong --bin seq_cost

total() {
    local flavor="$1" count="$2" mode="$3" run
    if [[ "$flavor" == async ]]; then
        # async_pingpong.rs: COUNT round trips of two tasks (MODE pingpong).
        run=("$root/target/release/async_pingpong" chan "$count")
    elif [[ "$mode" == seq64 ]]; then
        # `seq` with 64-byte messages, whose copies show. seq_cost, not
        # instr_guard: a second message type in instr_guard would change
        # how the compiler inlines its other workloads.
        run=("$root/target/release/seq_cost" chan "$flavor" "$count" seq 64B)
    else
        run=("$root/target/release/instr_guard" chan "$flavor" "$count" "$mode")
    fi
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "${run[@]}" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

# Instructions per operation for FLAVOR and MODE, two decimals.
per_op() {
    local flavor="$1" mode="$2" short long
    short="$(total "$flavor" "$k" "$mode")"
    long="$(total "$flavor" "$((2 * k))" "$mode")"
    [[ -n "$short" && -n "$long" ]] || {
        echo "instructions: callgrind printed no count for $flavor $mode" >&2
        exit 1
    }
    awk -v a="$short" -v b="$long" -v k="$k" 'BEGIN { printf "%.2f", (b - a) / k }'
}

# The workloads: FLAVOR MODE (see instr_guard.rs).
workloads=(
    "b1 seq" "b1024 seq" "unb seq"
    "b1 seq64" "b1024 seq64" "unb seq64"
    "b1 pair" "b1024 pair" "unb pair"
    "unb select" "unb select_macro" "unb ready"
    "async pingpong"
)

if $update; then
    {
        echo "# Instructions per operation of chan on single-thread workloads, counted by"
        echo "# scripts/instructions.sh (callgrind; instr_guard chan FLAVOR K MODE,"
        echo "# seq_cost chan FLAVOR K seq 64B for seq64, and async_pingpong chan K for"
        echo "# \"async pingpong\", per round trip)."
        echo "# CI fails when a count grows by more than 5%. Change this file only in a"
        echo "# commit that says why the counts moved."
        echo "# flavor mode instructions"
        for workload in "${workloads[@]}"; do
            read -r flavor mode <<<"$workload"
            echo "$flavor $mode $(per_op "$flavor" "$mode")"
        done
    } >"$baseline.new"
    mv "$baseline.new" "$baseline"
    cat "$baseline"
    exit 0
fi

[[ -f "$baseline" ]] || {
    echo "instructions: no baseline $baseline (run with --update)" >&2
    exit 1
}

failed=0
checked=0
printf '%-8s %-13s %10s %10s %8s\n' flavor mode baseline now change
for workload in "${workloads[@]}"; do
    read -r flavor mode <<<"$workload"
    expected="$(awk -v f="$flavor" -v m="$mode" '$1 == f && $2 == m { print $3 }' "$baseline")"
    if [[ -z "$expected" ]]; then
        echo "instructions: $flavor $mode has no baseline (run with --update)" >&2
        failed=1
        continue
    fi
    now="$(per_op "$flavor" "$mode")"
    verdict="$(awk -v e="$expected" -v n="$now" -v t="$tolerance" 'BEGIN {
        change = (n - e) / e * 100
        status = change > t ? "GREW" : (change < -t ? "shrank (update the baseline)" : "ok")
        printf "%+7.1f%% %s", change, status }')"
    printf '%-8s %-13s %10s %10s %s\n' "$flavor" "$mode" "$expected" "$now" "$verdict"
    [[ "$verdict" == *GREW* ]] && failed=1
    checked=$((checked + 1))
done

if ((failed)); then
    echo "instructions: a count grew by more than ${tolerance}% (or has no baseline)" >&2
    exit 1
fi
echo "instructions: $checked workloads within ${tolerance}% of the baseline"

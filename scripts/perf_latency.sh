#!/usr/bin/env bash
# Runs one cell of the latency bench (benches/latency.rs) under `perf stat`
# and prints its system calls and context switches per 1,000 messages: the
# "why" behind its latency and CPU columns (a receiver that parks shows
# futex calls and context switches per message; one that spins shows few of
# either but a high CPU/wall; sched_yield shows a yielding backoff).
#
# Usage: scripts/perf_latency.sh CONTENDER WORKLOAD FLAVOR T [N] [GAP_US]
#   CONTENDER  chan, crossbeam, flume, kanal or std
#   WORKLOAD   paced or fullspeed
#   FLAVOR     b0, b1, b1024 or unb (fullspeed: b0 or b1)
#   T          producer threads
#   N          messages per producer (default 20000)
#   GAP_US     paced gap between two messages of one producer (default 50)
#
# Example: scripts/perf_latency.sh chan paced b1 1
#
# The counts cover the whole cell process (every thread, start-up included,
# which is a handful of calls), not the benchmark harness or cargo. In the
# paced workload every producer sleeps once per message with
# clock_nanosleep(TIMER_ABSTIME), unless it is already late: about 1,000
# clock_nanosleep calls per 1,000 messages are the pacing itself, the same
# for every contender.
#
# Needs perf with access to the syscalls:* tracepoints (root, or
# kernel.perf_event_paranoid <= -1 and a readable tracefs); the script checks
# first and exits with status 2 when they are unavailable.
set -euo pipefail

if [[ $# -lt 4 ]]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
fi
contender=$1 workload=$2 flavor=$3 t=$4 n=${5:-20000} gap_us=${6:-50}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

events=syscalls:sys_enter_futex,syscalls:sys_enter_sched_yield,syscalls:sys_enter_clock_nanosleep,context-switches

if ! command -v perf >/dev/null; then
    echo "perf_latency: perf is not installed (linux-perf / linux-tools package)" >&2
    exit 2
fi
if ! probe=$(perf stat -x, -e syscalls:sys_enter_futex true 2>&1 >/dev/null) ||
    ! grep -q '^[0-9]' <<<"$probe"; then
    echo "perf_latency: 'perf stat -e syscalls:sys_enter_futex true' does not work here:" >&2
    sed 's/^/    /' <<<"$probe" >&2
    echo "perf_latency: syscall tracepoints need root (or kernel.perf_event_paranoid <= -1" >&2
    echo "and a readable /sys/kernel/tracing) and a kernel with CONFIG_FTRACE_SYSCALLS." >&2
    exit 2
fi

# Build the bench binary and find it; the cell is run directly, so that
# perf counts the cell process and nothing of cargo.
exe=$(cargo bench -p chan-benches --bench latency --no-run --message-format=json 2>/dev/null |
    grep '"kind":\["bench"\]' | grep '"name":"latency"' |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [[ -z "$exe" || ! -x "$exe" ]]; then
    echo "perf_latency: could not build the latency bench; run" >&2
    echo "    cargo bench -p chan-benches --bench latency --no-run" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
perf stat -x, -o "$tmp/perf.csv" -e "$events" -- \
    "$exe" --cell "$workload" "$flavor" "$contender" "$t" "$n" "$gap_us" >"$tmp/cell.txt"
line=$(grep '^chan-lat-cell:' "$tmp/cell.txt" || true)
messages=$(grep -o 'messages=[0-9]*' <<<"$line" | cut -d= -f2 || true)
if [[ -z "$messages" ]]; then
    echo "perf_latency: the cell printed no result:" >&2
    cat "$tmp/cell.txt" >&2
    exit 1
fi

field() { grep -o "$1=[0-9]*" <<<"$line" | cut -d= -f2; }
echo "cell: $contender $workload $flavor T=$t N=$n gap=${gap_us}us: $messages messages"
awk -v p50="$(field p50_ns)" -v p99="$(field p99_ns)" -v max="$(field max_ns)" \
    -v wall="$(field wall_ns)" -v cpu="$(field cpu_ns)" -v rx="$(field rx_cpu_ns)" -v m="$messages" \
    'BEGIN { printf "latency p50 %.1f us, p99 %.1f us, max %.1f us; CPU %.2f us/msg, CPU/wall %.2f, rx CPU/wall %.2f\n",
             p50 / 1e3, p99 / 1e3, max / 1e3, cpu / 1e3 / m, cpu / wall, rx / wall }'
# perf -x, lines: value,unit,event,run time,percentage,...; comments start with #.
awk -F, -v m="$messages" '
    /^#/ || NF < 3 { next }
    {
        name = $3
        sub(/^syscalls:sys_enter_/, "", name)
        if ($1 ~ /^[0-9]+$/) {
            printf "%-16s %12d total %12.1f per 1,000 messages\n", name, $1, $1 * 1000 / m
        } else {
            printf "%-16s %12s\n", name, $1
        }
    }' "$tmp/perf.csv"

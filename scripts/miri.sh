#!/usr/bin/env bash
# Runs chan's unit tests and a fast subset of the integration tests under
# miri (undefined behaviour, data races, leaks), on nightly.
#
# Environment (all optional):
#   MIRI_TARGET_DIR   cargo target dir (default <repo>/target/miri-run; miri
#                     builds into its `miri` subdirectory)
#   MIRI_TIMEOUT      seconds before one test binary counts as hung
#                     (default 900)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
rustup component add miri rust-src --toolchain nightly >/dev/null

export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${MIRI_TARGET_DIR:-$root/target/miri-run}"
# parking_lot_core stores pointers in integers (word_lock.rs), so strict
# provenance is out; permissive provenance accepts those casts without a
# warning per cast site. Leak checking and the data-race detector are on by
# default; isolation stays on, so time is virtual and sleeps cost nothing.
export MIRIFLAGS="-Zmiri-permissive-provenance ${MIRIFLAGS:-}"
timeout_s="${MIRI_TIMEOUT:-900}"

# Integration tests cheap enough under miri (their counts shrink under
# cfg(miri)); select.rs and stress.rs are left out. Miri
# interprets on one core, so the tests run as two groups side by side (after
# one build), balanced by their run time on a 2-core machine (the library
# unit tests alone take about as long as the other group).
group_a=(-p chan-core -p chan-select --lib)
group_b=(-p chan --test mpmc --test errors --test timers --test zero)
group_c=(-p chan --test select_macro --test drops --test array --test list --test panic_safety --test iter)

start=$SECONDS
cargo +nightly miri setup >/dev/null
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

echo "miri: building"
cargo +nightly miri test "${group_a[@]}" --no-run
cargo +nightly miri test -p chan --test mpmc --test select_macro --test errors \
    --test timers --test drops --test array --test list --test iter --test zero --test panic_safety --no-run
echo "miri: built in $((SECONDS - start)) s (MIRIFLAGS=$MIRIFLAGS)"

run_group() {
    local name="$1"
    shift
    local t0=$SECONDS status=0
    for args in "$@"; do
        # shellcheck disable=SC2086 # each entry is a word list
        timeout "$timeout_s" cargo +nightly miri test $args >>"$logs/$name" 2>&1 || status=$?
        ((status == 0)) || break
    done
    echo "$status $((SECONDS - t0))" >"$logs/$name.status"
}

run_group first "${group_a[*]}" "${group_b[*]}" &
run_group second "${group_c[*]}" &
wait

failed=0
for name in first second; do
    read -r status secs <"$logs/$name.status"
    grep -E '^test result|^     Running' "$logs/$name" || true
    if ((status != 0)); then
        failed=1
        echo "miri: group $name FAILED (exit $status) after $secs s:"
        cat "$logs/$name"
    else
        echo "miri: group $name passed in $secs s"
    fi
done
((failed == 0))
echo "miri: no undefined behaviour, data race or leak reported;" \
    "$((SECONDS - start)) s in all"

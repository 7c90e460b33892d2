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
# cfg(miri)); select.rs, stress.rs and panic_safety.rs are left out.
integration=(errors iter zero list array timers drops mpmc select_macro)

start=$SECONDS
cargo +nightly miri setup >/dev/null

run() {
    local t0=$SECONDS
    echo "miri: running $*"
    timeout "$timeout_s" cargo +nightly miri test "$@"
    echo "miri: $* passed in $((SECONDS - t0)) s"
}
run -p chan-core --lib
run -p chan-select --lib
tests=()
for t in "${integration[@]}"; do
    tests+=(--test "$t")
done
run -p chan "${tests[@]}"
echo "miri: no undefined behaviour, data race or leak reported;" \
    "$((SECONDS - start)) s in all"

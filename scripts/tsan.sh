#!/usr/bin/env bash
# Runs chan-core's unit tests and the multi-threaded integration tests
# (stress.rs at CHAN_STRESS_SCALE=4, mpmc, select, select_macro,
# select_guarantees at CHAN_RACE_ROUNDS=2000, promises, the flavor files, drops,
# panic_safety, and batch, close, weak: the additions beyond crossbeam-channel)
# under ThreadSanitizer: nightly, with std rebuilt with the sanitizer
# (-Zbuild-std) so that std's own synchronisation
# is visible to it. Any report fails the run (TSAN exit code 66).
#
# No suppressions are needed today: crossbeam-utils and parking_lot (whose
# fences TSAN does not model) produced no report. If one ever has to be
# silenced, put it in scripts/tsan.supp with the reasoning beside it; the
# script picks the file up.
#
# Environment (all optional):
#   TSAN_TARGET_DIR    cargo target dir (default <repo>/target/tsan)
#   TSAN_TIMEOUT       seconds before one cargo test run counts as hung
#                      (default 900)
#   CHAN_STRESS_SCALE  stress.rs message multiplier (default 4 here)
#   CHAN_RACE_ROUNDS   rounds of each select_guarantees race (default 2000
#                      here)
#   TSAN_BUILD_ONLY    if 1, build the test binaries and stop (CI builds
#                      them in the background, then runs them at the end)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
rustup component add rust-src --toolchain nightly >/dev/null

target="$(rustc +nightly -vV | sed -n 's/^host: //p')"
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${TSAN_TARGET_DIR:-$root/target/tsan}"
# Every crate, std included, must be built with the same sanitizer flag.
export RUSTFLAGS="-Zsanitizer=thread -Cdebuginfo=line-tables-only"
export RUSTDOCFLAGS="-Zsanitizer=thread"
# Symbolised reports, halt on the first one, and a non-zero exit code when
# any report was printed (TSAN's default exit code 66).
tsan_options="halt_on_error=1 second_deadlock_stack=1"
if [[ -f "$root/scripts/tsan.supp" ]]; then
    tsan_options+=" suppressions=$root/scripts/tsan.supp"
fi
export TSAN_OPTIONS="$tsan_options ${TSAN_OPTIONS:-}"
# Optimised (the stress tests are slow under TSAN otherwise) but with debug
# assertions, and without the workspace's fat LTO, which would make the
# build of std and every dependency much slower.
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true
timeout_s="${TSAN_TIMEOUT:-900}"

cargo_tsan() {
    cargo +nightly test -Zbuild-std --target "$target" --release "$@"
}

export CHAN_STRESS_SCALE="${CHAN_STRESS_SCALE:-4}"
export CHAN_RACE_ROUNDS="${CHAN_RACE_ROUNDS:-2000}"

start=$SECONDS
tests=()
for t in stress async_flavors async_wakers async_cancel async_select mpmc select select_macro select_guarantees promises zero array list drops panic_safety batch close weak; do
    if [[ -f "tests/$t.rs" ]]; then
        tests+=(--test "$t")
    fi
done

echo "tsan: building (target dir $CARGO_TARGET_DIR)"
cargo_tsan -p chan-core --lib --no-run
cargo_tsan -p chan "${tests[@]}" --no-run
echo "tsan: built in $((SECONDS - start)) s"
if [[ "${TSAN_BUILD_ONLY:-0}" == 1 ]]; then
    exit 0
fi

run() {
    local t0=$SECONDS
    echo "tsan: running $*"
    timeout "$timeout_s" cargo +nightly test -Zbuild-std --target "$target" --release "$@"
    echo "tsan: $* passed in $((SECONDS - t0)) s"
}
run -p chan-core --lib
run -p chan "${tests[@]}"
echo "tsan: no data race reported; $((SECONDS - start)) s in all"

#!/usr/bin/env bash
# Runs every loom model of the workspace with `--cfg loom` in release mode:
# the scenario models (chan-core/tests/loom.rs, chan-select/tests/loom.rs)
# and the models of flavor internals (chan-core/src/flavors/*_loom.rs, unit
# tests of the chan-core library). Each model runs as its own test process,
# two at a time; the script prints per model: name, interleavings explored,
# seconds. It fails if any model fails, or if it ran fewer models than the
# `#[test]` functions those files define.
#
# Environment (all optional):
#   LOOM_MAX_PREEMPTIONS  preemption bound for every model (default: each
#                         model's own, from 1 to 3)
#   LOOM_JOBS             models run at once (default: number of CPUs, max 2)
#   LOOM_MODEL_TIMEOUT    seconds before a model counts as hung (default 600)
#   LOOM_SKIP             space-separated model names not to run
#   LOOM_TARGET_DIR       cargo target dir (default <repo>/target/loom)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-$root/target/loom}"
export RUSTFLAGS="--cfg loom"
# Each model sets its own preemption bound (3 for most, less for models
# with three threads) unless LOOM_MAX_PREEMPTIONS overrides them all; so
# only pass it on when the caller set it.
# The workspace's release profile uses fat LTO and one codegen unit, which
# triples the build of loom and its dependencies for no gain here.
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true

parallel="${LOOM_JOBS:-$(nproc 2>/dev/null || echo 2)}"
((parallel > 2)) && parallel=2
((parallel < 1)) && parallel=1
model_timeout="${LOOM_MODEL_TIMEOUT:-600}"
read -r -a skip <<<"${LOOM_SKIP:-}"

start=$SECONDS
echo "loom: building (target dir $CARGO_TARGET_DIR)"
build_log="$(mktemp)"
out_dir="$(mktemp -d)"
trap 'rm -rf "$build_log" "$out_dir"' EXIT
if ! cargo test -p chan-core -p chan-select --release --lib --test loom --no-run \
    --message-format=json-render-diagnostics >"$build_log"; then
    echo "loom: build failed" >&2
    exit 1
fi
mapfile -t binaries < <(grep -o '"executable":"[^"]*"' "$build_log" |
    sed 's/^"executable":"//; s/"$//' | sort -u)
# The two libraries' unit tests and the two `--test loom` targets.
if ((${#binaries[@]} != 4)); then
    echo "loom: expected 4 test binaries, found ${#binaries[@]}" >&2
    exit 1
fi
model_files=(chan-core/tests/loom.rs chan-select/tests/loom.rs chan-core/src/flavors/*_loom.rs)
defined=$(cat "${model_files[@]}" | grep -c '^ *#\[test\]')
echo "loom: built in $((SECONDS - start)) s; preemption bound" \
    "${LOOM_MAX_PREEMPTIONS:-per model}, $parallel at a time, timeout $model_timeout s per model"

# One line per model: "<binary> <test name>".
models=()
skipped=0
for bin in "${binaries[@]}"; do
    while IFS= read -r line; do
        name="${line%: test}"
        [[ "$line" == *": test" ]] || continue
        for s in "${skip[@]}"; do
            if [[ "$s" == "$name" ]]; then
                echo "loom: SKIPPED $name (LOOM_SKIP)"
                skipped=$((skipped + 1))
                continue 2
            fi
        done
        models+=("$bin $name")
    done < <("$bin" --list --format=terse)
done
if ((${#models[@]} + skipped < defined)); then
    echo "loom: found ${#models[@]} models (and $skipped skipped), but" \
        "${model_files[*]} define $defined" >&2
    exit 1
fi

run_model() {
    local bin="$1" name="$2" out="$3"
    local t0 t1 status=0
    t0=$(date +%s.%N)
    timeout "$model_timeout" "$bin" --exact "$name" --nocapture --test-threads=1 \
        >"$out.log" 2>&1 || status=$?
    t1=$(date +%s.%N)
    local iterations
    # A test may check several models; report their sum.
    iterations=$(sed -n 's/.*loom: explored \([0-9]*\) iterations.*/\1/p' "$out.log" |
        awk '{ n += $1 } END { if (NR) print n }')
    local verdict=ok
    if ((status == 124)); then
        verdict="TIMEOUT"
    elif ((status != 0)); then
        verdict="FAILED"
    fi
    printf '%-70s %10s %8.1f  %s\n' "$name" "${iterations:-?}" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$verdict" >"$out.line"
    cat "$out.line"
}

printf '%-70s %10s %8s  %s\n' model iterations seconds result
i=0
for entry in "${models[@]}"; do
    while (($(jobs -rp | wc -l) >= parallel)); do
        wait -n || true
    done
    run_model ${entry} "$out_dir/$i" &
    i=$((i + 1))
done
wait

failed=0
for ((k = 0; k < i; k++)); do
    if ! grep -q ' ok$' "$out_dir/$k.line"; then
        failed=$((failed + 1))
        echo
        echo "=== $(cat "$out_dir/$k.line")"
        tail -n 80 "$out_dir/$k.log"
    fi
done
echo "loom: ${#models[@]} models, $failed failed, $skipped skipped," \
    "$((SECONDS - start)) s in all"
((failed == 0))

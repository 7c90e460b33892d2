#!/usr/bin/env bash
# How much the loom models can see: weakens one atomic ordering at a time
# to `Relaxed` (every `Acquire`, `Release`, `AcqRel` and `SeqCst` in the
# files given, fences excepted) and runs every model (`scripts/loom.sh`)
# on each such mutant. A mutant the models catch is an ordering they
# prove necessary; one that survives is either an ordering nothing needs
# or a synchronisation no model exercises, and each survivor has to be
# explained (docs/performance.md keeps the last sweep's explanations).
#
# The mutants are built in a temporary git worktree of HEAD, so the
# working tree is never touched. Each mutant takes a loom build and a
# full model run (about 40 s on two cores), so this is not part of CI.
#
# Usage:
#   scripts/loom_mutants.sh FILE...    e.g. chan-core/src/flavors/list.rs
#
# Prints one line per mutant: FILE:LINE caught|SURVIVED|build-failed and
# the original line; exits 1 if any mutant survived.
#
# Environment (optional):
#   LOOM_MUTANTS_TARGET_DIR   cargo target dir (default <repo>/target/loom-mutants)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
(($# > 0)) || {
    echo "usage: scripts/loom_mutants.sh FILE..." >&2
    exit 2
}

work="$(mktemp -d)"
git worktree add --detach --quiet "$work/tree" HEAD
trap 'git worktree remove --force "$work/tree"; rm -rf "$work"' EXIT
export LOOM_TARGET_DIR="${LOOM_MUTANTS_TARGET_DIR:-$root/target/loom-mutants}"

strong='Ordering::\(Acquire\|Release\|AcqRel\|SeqCst\)'
survivors=0
for file in "$@"; do
    original="$work/original"
    cp "$work/tree/$file" "$original"
    # Lines with a strong ordering that are neither fences (a relaxed
    # fence does not exist) nor comments, above the file's first test
    # module (a `#[cfg(test)]` or `#[cfg(all(test, ...))]` attribute on a
    # `mod`, or on its `#[path]`).
    tests_from="$(awk '/^#\[cfg\((all\()?test/ { start = NR }
        start && NR <= start + 2 && /^(#\[path|mod )/ { print start; exit }' "$original")"
    mapfile -t lines < <(grep -n "$strong" "$original" | grep -v 'fence(' |
        grep -v '^[0-9]*:[[:space:]]*//' | cut -d: -f1 |
        awk -v end="${tests_from:-0}" 'end == 0 || $1 < end')
    for line in "${lines[@]}"; do
        cp "$original" "$work/tree/$file"
        sed -i "${line}s/$strong/Ordering::Relaxed/" "$work/tree/$file"
        text="$(sed -n "${line}p" "$original" | sed 's/^[[:space:]]*//')"
        log="$work/log"
        (cd "$work/tree" && bash scripts/loom.sh >"$log" 2>&1)
        status=$?
        if grep -q '^loom: build failed' "$log"; then
            verdict=build-failed
        elif ((status == 0)); then
            verdict=SURVIVED
            survivors=$((survivors + 1))
        else
            verdict=caught
        fi
        echo "$file:$line $verdict | $text"
    done
    cp "$original" "$work/tree/$file"
done
echo "loom_mutants: $survivors mutant(s) survived"
((survivors == 0))

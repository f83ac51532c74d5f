#!/bin/sh
# The determinism matrix: builds the runtime core (ops/, hal/, vm/) with the runner
# tests/determinism_runner.c in several configurations, runs each one (under qemu-user for the
# cross builds) on the work directory determinism_prepare wrote with the host build, and
# compares every configuration's lines (trace roots, output hashes, statuses) with the host's.
#
#   tests/determinism.sh [--ci]
#
# Without --ci: every configuration, every case (a configuration whose toolchain is missing is
# reported "unavailable"). With --ci: the CI configurations on a subset, and a missing
# toolchain fails. Exit 1 on any difference, failed build or failed run.
# Environment: BUILD (the host build, default build), DET_OUT (default build-det).
set -u

BUILD=${BUILD:-build}
OUT=${DET_OUT:-build-det}
MODE=full
[ "${1:-}" = "--ci" ] && MODE=ci

# One configuration per line: name | compiler | flags | how to run (qemu for cross builds).
CONFIGS_FULL='gcc-O0|gcc|-O0|
gcc-O3-native|gcc|-O3 -march=native|
clang-O2|clang|-O2|
x86-32|gcc|-m32 -msse2 -mfpmath=sse -O2|
aarch64|aarch64-linux-gnu-gcc|-O2|qemu-aarch64 -L /usr/aarch64-linux-gnu
s390x|s390x-linux-gnu-gcc|-O2|qemu-s390x -L /usr/s390x-linux-gnu'
CONFIGS_CI='clang-O2|clang|-O2|
x86-32|gcc|-m32 -msse2 -mfpmath=sse -O2|
s390x|s390x-linux-gnu-gcc|-O2|qemu-s390x -L /usr/s390x-linux-gnu'

# Kernel variant and thread count pairs every configuration runs (DETVM_KERNELS and
# DETVM_THREADS in the runner). A configuration whose build or CPU lacks a level (avx2 and vnni
# exist on x86-64 only) reports that pass as skipped (the runner exits 3).
VARIANTS='reference:1 avx2:1 vnni:1 vnni:2'

# The CI subset: the first of every 10 cases of each CVM group, and these TFLite models
# and kmodels (plus the fixtures, always).
CI_PREPARE='--every 10 --models person_detect,iris_v3,mnist_v3,iris_v4,yolo20_v4'

WARN='-Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter'
CORE_SRC=$(ls ops/*.c ops/x86/*.c hal/*.c hal/*/*.c vm/*.c 2>/dev/null)

if [ "$MODE" = ci ]; then CONFIGS=$CONFIGS_CI; PREPARE_ARGS=$CI_PREPARE
else CONFIGS=$CONFIGS_FULL; PREPARE_ARGS=''; fi

now() { date +%s; }
started=$(now)

# The work items and the host's reference lines.
rm -rf "$OUT"
mkdir -p "$OUT/include"
# The cross compilers must not see the host's /usr/include; xxhash.h (header-only here) is
# the one header the core needs from it.
xxhash=/usr/include/xxhash.h
if [ ! -f "$xxhash" ]; then
    echo "determinism: $xxhash is missing (install libxxhash-dev)"; exit 1
fi
ln -s "$xxhash" "$OUT/include/xxhash.h"
# shellcheck disable=SC2086
"$BUILD/determinism_prepare" $PREPARE_ARGS "$OUT/work" || {
    echo "determinism: preparing the work items failed"; exit 1; }
cases=$(grep -c ' module ' "$OUT/work/expected")
inputs=$(wc -l < "$OUT/work/manifest" | tr -d ' ')

# available NAME CC FLAGS RUN: the toolchain compiles, links and runs a trivial program.
available() {
    command -v "$2" >/dev/null 2>&1 || return 1
    printf 'int main(void) { return 0; }\n' > "$OUT/$1/probe.c"
    # shellcheck disable=SC2086
    $2 $3 -o "$OUT/$1/probe" "$OUT/$1/probe.c" >/dev/null 2>&1 || return 1
    # shellcheck disable=SC2086
    $4 "$OUT/$1/probe" </dev/null >/dev/null 2>&1
}

table="$OUT/table"
printf '| configuration | compiler | flags | variants | cases | inputs | identical | build warnings | seconds |\n' > "$table"
printf '|---|---|---|---|---|---|---|---|---|\n' >> "$table"
failed=0
while IFS='|' read -r name cc flags run <&3; do
    dir="$OUT/$name"
    mkdir -p "$dir"
    t0=$(now)
    if ! available "$name" "$cc" "$flags" "$run"; then
        printf '| %s | %s | %s | | | | unavailable | | |\n' "$name" "$cc" "$flags" >> "$table"
        echo "determinism: $name: toolchain unavailable ($cc $flags${run:+, $run})"
        [ "$MODE" = ci ] && failed=1
        continue
    fi
    # shellcheck disable=SC2086
    if ! $cc -std=c11 -ffp-contract=off $flags $WARN -D_POSIX_C_SOURCE=200809L -Iinclude -Ivm -I"$OUT/include" \
            -o "$dir/determinism_runner" $CORE_SRC tests/determinism_runner.c \
            > "$dir/build.log" 2>&1; then
        cat "$dir/build.log"
        printf '| %s | %s | %s | | | | build failed | | |\n' "$name" "$cc" "$flags" >> "$table"
        failed=1
        continue
    fi
    warnings=$(grep -c 'warning:' "$dir/build.log")
    [ "$warnings" -eq 0 ] || echo "determinism: $name: $warnings build warnings, see $dir/build.log"
    same=yes
    ran=''
    for v in $VARIANTS; do
        variant=${v%%:*}; threads=${v#*:}
        result="$dir/$variant-$threads"
        # shellcheck disable=SC2086
        $run "$dir/determinism_runner" "$OUT/work" --variant "$variant" --threads "$threads" \
            </dev/null > "$result" 2> "$result.err"
        rc=$?
        if [ $rc -eq 3 ]; then
            continue
        fi
        ran="$ran $v"
        if [ $rc -ne 0 ]; then
            echo "determinism: $name ($variant, $threads threads): the runner exited $rc"
            head -n 5 "$result.err"
            same=no
        elif ! grep -v '^#' "$result" | cmp -s - "$OUT/work/expected"; then
            echo "determinism: $name ($variant, $threads threads) differs from the host:"
            grep -v '^#' "$result" | diff "$OUT/work/expected" - | head -n 10
            same=no
        fi
    done
    [ "$same" = yes ] || failed=1
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$cc" "$flags" \
        "$(echo $ran | sed 's/:\([0-9]*\)/ \1t/g')" "$cases" "$inputs" "$same" "$warnings" \
        "$(($(now) - t0))" >> "$table"
done 3<<EOF
$CONFIGS
EOF

echo
echo "determinism matrix ($MODE): $cases cases, $inputs inputs, each in fast and secure" \
     "trace modes; reference lines from the host build ($BUILD)"
cat "$table"
echo "total: $(($(now) - started)) s"
[ $failed -eq 0 ] || { echo "determinism: FAILED"; exit 1; }

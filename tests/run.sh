#!/bin/sh
# Runs each test program and adds up their "N passed, N failed, N skipped" lines.
passed=0; failed=0; skipped=0; broken=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^[a-z_0-9]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out" | tail -n 20
        echo "$t: crashed or printed no summary (exit $rc)"
        broken=$((broken + 1)); continue
    fi
    [ $rc -eq 0 ] || printf '%s\n' "$out" | grep -E '^(FAIL|skip)' | head -n 40
    echo "$line"
    set -- $(echo "$line" | sed -E 's/^[^:]*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
    passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + $3))
done
failed=$((failed + broken))
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]

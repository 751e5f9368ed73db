#!/bin/sh
# Runs the test suite on a busy machine: one busy-loop process per core for as long as pytest
# runs, so tests that depend on which thread or process runs first show it. Arguments go to
# pytest (for example: sh scripts/loaded-test.sh -x tests/e2e).
set -u
cores=$(nproc 2>/dev/null || echo 2)
loops=""
i=0
while [ "$i" -lt "$cores" ]; do
    python3 -c "while True: pass" &
    loops="$loops $!"
    i=$((i + 1))
done
trap 'kill $loops 2>/dev/null' EXIT INT TERM
echo "Running the tests beside $cores busy loops..."
.venv/bin/pytest "$@"

#!/usr/bin/env bash
# The quick start: Ganglion on the embedded default (one process, SQLite, local runner), the
# example job submitted with its code, its logs streamed and its result shown.
# Ganglion keeps running afterwards (`.venv/bin/ganglion down` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
ganglion="$PWD/.venv/bin/ganglion"
port="${GANGLION_PORT:-8000}"

if "$ganglion" project ls >/dev/null 2>&1; then
    echo "Ganglion is already running."
else
    "$ganglion" up --detach --port "$port"
fi
"$ganglion" project create quickstart --description "The quick start example" 2>/dev/null || true

cd examples/logistic-regression
echo
echo "Running examples/logistic-regression (its folder is uploaded with -u):"
"$ganglion" run -f polyaxonfile.yaml -p quickstart -u --log
echo
"$ganglion" ops get -p quickstart
echo
echo "Explore: $ganglion ops ls -p quickstart | ops statuses | ops logs   (stop: $ganglion down)"

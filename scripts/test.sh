#!/usr/bin/env bash
# Runs gofmt, go vet and the race-enabled tests of every module in go.work.
# `go test ./...` from the root does not reach nested modules; this does.
# It ends with one line counting every test run, across all modules.
# Usage: scripts/test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/bin:$PATH"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

mkdir -p bin
go build -o bin/testsummary ./internal/cmd/testsummary
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

status=0
n=0
for mod in $(scripts/modules.sh); do
	n=$((n + 1))
	echo "=== module $mod"
	# A module whose race build would eat the CI budget (client-go, the
	# nacos SDK) and that starts no goroutines of its own beyond its
	# client's may opt out with a .norace file saying why; its tests still
	# run, and goleak still checks them.
	race=-race
	if [ -f "$mod/.norace" ]; then
		race=
		echo "(no -race: $(head -n 1 "$mod/.norace"))"
	fi
	# vet with the same -race as the tests, so that both use one build of
	# the dependencies instead of a plain one and a race one: from an empty
	# build cache the heavy modules (client-go, etcd, the nacos SDK) are
	# compiled once.
	mstart=$(date +%s)
	(cd "$mod" && go vet $race ./...) || status=1
	(cd "$mod" && go test -json $race -count=1 -timeout 10m "$@" ./...) | tee "$results/$n.json" | bin/testsummary || status=1
	echo "(module $mod: $(($(date +%s) - mstart))s)"
done
echo "=== all modules"
cat "$results"/*.json | bin/testsummary | tail -n 1
exit $status

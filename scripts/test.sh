#!/usr/bin/env bash
# Runs gofmt, go vet and the race-enabled tests of every module in go.work.
# `go test ./...` from the root does not reach nested modules; this does.
# Usage: scripts/test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/bin:$PATH"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

status=0
for mod in $(scripts/modules.sh); do
	echo "=== module $mod"
	(cd "$mod" && go vet ./...) || status=1
	(cd "$mod" && go test -race -count=1 -timeout 10m "$@" ./...) || status=1
done
exit $status

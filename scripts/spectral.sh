#!/usr/bin/env bash
# Lints the OpenAPI documents that the real CLI generates for the test
# protos with Spectral's oas ruleset (scripts/spectral/.spectral.yaml) and
# fails on any error; warnings are printed but pass.
#
# Spectral is installed with npm ci from scripts/spectral/package-lock.json
# (the CLI pinned with every dependency) into .tools/spectral, which git
# ignores, and reinstalled only when the lock changes.
# Usage: scripts/spectral.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

tools=$root/.tools/spectral
spectral=$tools/node_modules/.bin/spectral
if ! cmp -s scripts/spectral/package-lock.json "$tools/package-lock.json" || [ ! -x "$spectral" ]; then
	mkdir -p "$tools"
	cp scripts/spectral/package.json scripts/spectral/package-lock.json "$tools/"
	# --ignore-scripts: Spectral needs no install script, and one of its
	# dependencies has a telemetry postinstall.
	npm ci --prefix "$tools" --ignore-scripts --no-audit --no-fund --loglevel=error
fi
echo "spectral $("$spectral" --version)"

mkdir -p bin
go build -o bin/zelos ./cmd/zelos

# The CLI writes next to the protos, so it runs on a copy of them: the
# protoc test protos, and the openapigen ones (routes that differ only in
# variable names, patterns, streams).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r cmd/zelos/internal/protoc/testdata/api cmd/zelos/internal/protoc/testdata/bookstore \
	cmd/zelos/internal/gen/openapigen/testdata/shop "$work/"
mkdir -p "$work/default-routes"
cp -r cmd/zelos/internal/protoc/testdata/bookstore "$work/default-routes/"
(cd "$work" && "$root/bin/zelos" proto client -q api bookstore shop)
(cd "$work/default-routes" && "$root/bin/zelos" proto client -q --http-default-routes bookstore)

mapfile -t docs < <(cd "$work" && find . -name '*.openapi.yaml' | sort)
if [ "${#docs[@]}" -lt 5 ]; then
	echo "spectral.sh: expected at least 5 OpenAPI documents, got ${#docs[@]}: ${docs[*]}" >&2
	exit 1
fi
echo "linting ${#docs[@]} documents: ${docs[*]}"
(cd "$work" && "$spectral" lint --ruleset "$root/scripts/spectral/.spectral.yaml" --fail-severity error "${docs[@]}")
echo "spectral: ${#docs[@]} documents, 0 errors"

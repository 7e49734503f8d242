#!/usr/bin/env bash
# Installs, at pinned versions, the command-line tools the tests use, into
# ./bin. Go tools come from the module proxy; system packages from apt when
# running as root (CI) and missing.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
export GOBIN="$(pwd)/bin"

GRPCURL_VERSION=v1.9.3
if [ ! -x bin/grpcurl ] || ! bin/grpcurl -version 2>&1 | grep -q "${GRPCURL_VERSION#v}"; then
	go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}"
fi

# protoc (Debian's protobuf-compiler) proves the protoc plugins' output is
# byte-identical to the CLI's. promtool and the Prometheus server (Debian's
# prometheus) check and scrape contrib/metrics/prometheus's exposition.
need_apt=()
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
# Headless Chromium (Debian's chromium) runs tests/browser's CORS proof.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# A real ZooKeeper (Debian's zookeeper, with its Java runtime) for
# contrib/registry/zookeeper; the tests start and stop it themselves.
[ -f /usr/share/java/zookeeper.jar ] || need_apt+=(zookeeper)
# A real PostgreSQL server for examples/shop/deploy's Kubernetes topology
# run (the services on the k8s Secrets' DSN); the test runs initdb itself.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
	else
		echo "tools.sh: please install: ${need_apt[*]}" >&2
	fi
fi

#!/usr/bin/env bash
# Runs the README's "A new service" steps literally, with CO a checkout and
# DIR an empty directory, twice: DIR outside CO (mktemp -d) and DIR inside
# CO (under .cache/, which git ignores, where CO's own go.work would claim
# the service unless zelos new isolates it):
#
#   cd CO && go build -o bin/zelos ./cmd/zelos
#   cd DIR && CO/bin/zelos new demo && cd demo && CO/bin/zelos proto client api &&
#     go mod tidy && go build ./... && go test ./... && go run ./cmd/demo
#
# and checks that the service serves: GET /helloworld/zelos over HTTP and
# Greeter/SayHello over gRPC (with grpcurl, which scripts/tools.sh installs
# into bin/). The ports come from APP_SERVER_HTTP_ADDR/APP_SERVER_GRPC_ADDR,
# since 8000 and 9000 may be taken on a shared machine.
#
# By default CO is a fresh clone of HEAD (git clone -q . $tmp/CO), so this
# tests committed state, as CI sees it, and a new user's first steps.
# With --tree, CO is this work tree itself, uncommitted changes included
# (bin/zelos is rebuilt here, and DIR lies under ./.cache/).
#
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

mode=clone
case "${1:-}" in
"") ;;
--tree) mode=tree ;;
*)
	echo "usage: scripts/newservice.sh [--tree]" >&2
	exit 2
	;;
esac

grpcurl=$(command -v grpcurl || true)
[ -x "$repo/bin/grpcurl" ] && grpcurl="$repo/bin/grpcurl"
if [ -z "$grpcurl" ]; then
	echo "newservice: grpcurl not found: run scripts/tools.sh" >&2
	exit 1
fi

tmp=$(mktemp -d)
server_pid=
cleanup() {
	stop_server
	rm -rf "$tmp"
	[ -n "${inside:-}" ] && [ "$mode" = tree ] && rm -rf "$inside"
	return 0
}
trap cleanup EXIT

log() { echo "newservice: $*"; }

# stop_server ends the service's process group (go run and the program it
# started), politely first.
stop_server() {
	[ -z "$server_pid" ] && return 0
	kill -TERM -- "-$server_pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL -- "-$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}

# free_port prints a local port nothing listens on.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "newservice: no free port" >&2
	return 1
}

if [ "$mode" = clone ]; then
	co="$tmp/CO"
	git clone -q . "$co"
else
	co="$repo"
fi

log "building zelos in $co"
(cd "$co" && go build -o bin/zelos ./cmd/zelos)

# flow runs the steps in the empty directory $1 and serves the result.
flow() {
	local dir=$1
	log "zelos new demo in $dir"
	(
		cd "$dir"
		"$co/bin/zelos" new demo
		cd demo
		"$co/bin/zelos" proto client api
		go mod tidy
		go build ./...
		go test ./...
	)

	local hp gp out
	hp=$(free_port)
	gp=$hp
	while [ "$gp" = "$hp" ]; do gp=$(free_port); done
	out="$tmp/serve.log"
	log "go run ./cmd/demo (HTTP :$hp, gRPC :$gp)"
	# setsid gives go run and its child a process group of their own, to
	# stop both at once.
	(cd "$dir/demo" && APP_SERVER_HTTP_ADDR="127.0.0.1:$hp" APP_SERVER_GRPC_ADDR="127.0.0.1:$gp" exec setsid go run ./cmd/demo) >"$out" 2>&1 &
	server_pid=$!

	# go run compiles first: allow a slow, loaded CI a minute.
	local ok=
	for _ in $(seq 300); do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			break
		fi
		if curl -fsS "http://127.0.0.1:$hp/helloworld/zelos" 2>/dev/null | grep -q '"Hello zelos"'; then
			ok=1
			break
		fi
		sleep 0.2
	done
	if [ -z "$ok" ]; then
		log "FAIL: the service did not answer GET /helloworld/zelos; its output:"
		cat "$out" >&2
		return 1
	fi
	log "HTTP ok"
	local reply=
	for _ in $(seq 50); do
		if reply=$("$grpcurl" -plaintext -d '{"name":"zelos"}' "127.0.0.1:$gp" demo.v1.Greeter/SayHello 2>&1); then
			break
		fi
		sleep 0.2
	done
	if ! grep -q '"Hello zelos"' <<<"$reply"; then
		log "FAIL: gRPC Greeter/SayHello: $reply; the service's output:"
		cat "$out" >&2
		return 1
	fi
	log "gRPC ok"
	stop_server
}

flow "$(mktemp -d -p "$tmp" outside.XXXX)"

mkdir -p "$co/.cache"
inside=$(mktemp -d -p "$co/.cache" newservice.XXXX)
if ! (cd "$co" && git check-ignore -q "$inside"); then
	log "FAIL: $inside is not ignored by git"
	exit 1
fi
flow "$inside"

log "ok: outside and inside the checkout"

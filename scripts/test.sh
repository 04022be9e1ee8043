#!/usr/bin/env bash
# Runs every test of mopush on a fresh machine: installs the servers and the
# browser the tests start (redis-server, chromium), then static checks, the race-enabled test
# suite, and every benchmark once so that they keep compiling and running.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
# The portal's tests drive a real browser.
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing: ${need_pkgs[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# A missing browser fails the portal's browser test instead of skipping it.
export MOPUSH_REQUIRE_BROWSER=1

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...
# The FerretDB tool is a module of its own (see tools/ferretdb/main.go).
go vet -C tools/ferretdb ./...

echo "== go test -race"
go test -race -count=1 -timeout 30m ./...
go test -C tools/ferretdb -count=1 -timeout 10m ./...

echo "== benchmarks (one iteration each)"
go test -run='^$' -bench=. -benchtime=1x -timeout 20m ./...

#!/usr/bin/env bash
# Installs the build into a temporary prefix and runs `go test` on the Go binding and
# builds the Go quickstart against it. Offline: the module has no dependencies.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null
pcdir=$(dirname "$(find "$tmp/prefix" -name mlops.pc | head -n 1)")
export PKG_CONFIG_PATH=$pcdir
export LD_LIBRARY_PATH=$(dirname "$pcdir")
export CGO_LDFLAGS="-Wl,-rpath,$LD_LIBRARY_PATH"
export GOPATH=$tmp/gopath GOCACHE=$tmp/gocache GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on
cd "$src/bindings/go"
go vet ./...
go test -count=1 ./...
cd "$src/examples/go"
go build -o "$tmp/quickstart" ./quickstart
(cd "$tmp" && ./quickstart "$tmp/go-quickstart.db")

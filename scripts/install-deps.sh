#!/usr/bin/env bash
# Installs every package Omni needs to build, test and benchmark on Debian 12 (as root).
# The one list of dependencies: README's commands and .ci/run both call this.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  librocksdb-dev                          # the log and projections
  flatbuffers-compiler libflatbuffers-dev # event schema (flatc) and runtime
  libssl-dev                              # SHA-256 hash chain
  libboost-dev                            # Asio (async API, executors)
  nlohmann-json3-dev                      # documents
  libspdlog-dev libfmt-dev                # injected logger
  libgtest-dev libgmock-dev               # tests
  libbenchmark-dev                        # bench/
  libsqlite3-dev                          # bench/: the SQLite peer
  libhiredis-dev                          # sinks/redis: the Redis client
  redis-server redis-tools                # tests and the demo: a real Redis on loopback
  libcli11-dev                            # tools/: the omni command's argument parser
  libsimdjson-dev                         # tools/: validating documents in the audit export
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

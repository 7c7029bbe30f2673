#!/usr/bin/env bash
# Cross-compiles the tests of the GEMM, the vector kernels and the packages built on
# them for arm64 and runs them under qemu-aarch64-static (user-mode emulation: Go's
# static binaries need no arm64 sysroot), so the NEON kernels
# (internal/sgemm/kernel_arm64.s, internal/vec/vec_arm64.s) and the pure-Go fallback
# are tested on an amd64 machine. internal/sgemm and internal/vec run twice: as built
# (NEON) and with -tags purego (the portable Go code).
#
#   scripts/arm64/qemu_test.sh [-short] [package ...]
#
# Packages default to ./internal/sgemm ./internal/vec ./graph ./layers, and ./gpt
# where it exists (the GPT's own tests); -short passes -test.short.
# Installs qemu-user-static with apt-get when qemu-aarch64-static is missing.
# Prints each package's wall time; exits non-zero if a build or a test fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

short=()
if [ "${1:-}" = "-short" ]; then
  short=(-test.short)
  shift
fi
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
  pkgs=(./internal/sgemm ./internal/vec ./graph ./layers)
  [ -d gpt ] && pkgs+=(./gpt)
fi

if ! command -v qemu-aarch64-static >/dev/null; then
  echo "== installing qemu-user-static"
  apt-get update && apt-get install -y qemu-user-static
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME DIR TAGS: build the test binary of DIR for arm64 and run it in DIR
# (tests open their testdata relative to it).
run() {
  local name=$1 dir=$2 tags=$3 bin="$tmp/$1.test" t0 t1
  echo "== $name (GOARCH=arm64${tags:+ -tags $tags})"
  GOARCH=arm64 go test -c ${tags:+-tags "$tags"} -o "$bin" "$dir"
  t0=$(date +%s)
  (cd "$dir" && qemu-aarch64-static "$bin" -test.count=1 "${short[@]}")
  t1=$(date +%s)
  echo "-- $name: $((t1 - t0)) s under qemu"
}

start=$(date +%s)
for p in "${pkgs[@]}"; do
  name=$(echo "${p#./}" | tr / _)
  run "$name" "$p" ""
  if [ "$p" = ./internal/sgemm ] || [ "$p" = ./internal/vec ]; then
    run "${name}_purego" "$p" purego
  fi
done
echo "== all passed under qemu-aarch64-static in $(($(date +%s) - start)) s"

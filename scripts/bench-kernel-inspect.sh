#!/usr/bin/env bash
# Times `kernel inspect` (in-process inspectKernelImage, whole image: sha256, bzImage header,
# decompression, notes) on every Debian kernel the real-image test fetches, beside the
# system's own decompressor (`xz -dc`, `lz4 -dc`) on the same payload, and prints the table
# with the machine's load average (both wall and CPU time: on a loaded machine wall time
# mostly measures the load). Runs libs/kernel-notes/src/debian-kernels.int.spec.ts with
# KERNEL_BENCH_REPEAT runs per image (default 3, best kept); the table is also left in
# .cache/kernel-inspect-timings.md. Needs what that test needs: the Debian archive, xz-utils,
# lz4, binutils.
set -euo pipefail
cd "$(dirname "$0")/.."
export KERNEL_BENCH_REPEAT="${KERNEL_BENCH_REPEAT:-3}"
npx jest --selectProjects int --testPathPattern 'libs/kernel-notes/src/debian-kernels' < /dev/null > .cache/kernel-inspect-bench.log 2>&1 ||
  { tail -40 .cache/kernel-inspect-bench.log; echo "bench-kernel-inspect: the test failed (log: .cache/kernel-inspect-bench.log)"; exit 1; }
cat .cache/kernel-inspect-timings.md

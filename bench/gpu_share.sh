#!/usr/bin/env bash
# Throughput of K small trainings (N=64, B=64, T=30, 1 thread each) sharing one
# GPU, K = 1 to 16: the curve behind sic-worker --trials-per-gpu
# (docs/science-core.md, "On a GPU"). Run from the repository root on a GPU
# machine, the nlohmann header found as scripts/gpu-session says.
set -uo pipefail
PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
t0=$(date +%s)
cmake -S . -B build-gpu -DSIC_CORE_ONLY=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DNLOHMANN_JSON_INCLUDE_DIR=${NLOHMANN_JSON_INCLUDE_DIR:-$PWD/.gpu/include} > /dev/null 2>&1
cmake --build build-gpu -j 16 --target bench_train_step > build.log 2>&1 || { tail -20 build.log; exit 1; }
echo "built in $(( $(date +%s) - t0 )) s"
B=build-gpu/bench/bench_train_step
for k in 1 2 4 8 12 16; do
  s=$(date +%s.%N)
  for i in $(seq $k); do
    $B --device cuda --units 64 --batch 64 --seq 30 --threads 1 --steps 100 --warmup 10 > /tmp/k$k-$i.json 2>/dev/null &
  done
  wait
  python3 - $k <<'PY'
import json, sys
k = int(sys.argv[1])
ms = [json.loads(open(f"/tmp/k{k}-{i}.json").read().strip().splitlines()[-1])["step_ms"] for i in range(1, k + 1)]
print(f"{k:2d} at once: step {min(ms):.1f}-{max(ms):.1f} ms each, {sum(1000 / m for m in ms):.1f} steps/s together")
PY
done

#!/usr/bin/env bash
# Issue 15's GPU measurements in one prepared run (not yet run: the session that wrote it had no GPU).
# Each table is written to $OUT (or ./gpu_check_out) and echoed; about 8 minutes on one H100/H200.
#   bash benchmarks/gpu_check.sh
set -u
OUT=${OUT:-gpu_check_out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
run() {  # name, timeout seconds, command...
  local name=$1 limit=$2; shift 2
  echo "== $name"; timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.md"
}
# Dual D against the full-clip D at the paper's width (96), batch 1.
run dual_vs_full_d 150 python benchmarks/dual_vs_full_d.py --ch 96 --device cuda
# Sampling: 2 videos of 48x64x64 (paper: < 150 ms) and videos/s at batch 16, fp32 and bf16.
run sampling 60 python benchmarks/sampling_speed.py --device cuda --bf16
# Step time fp32 vs bf16 at kinetics600-12x64, batch 16 (target: bf16 >= 1.5x faster than fp32).
run train_speed_12x64 120 python benchmarks/train_speed.py --preset kinetics600-12x64 \
  --set train.batch_size=16 --device cuda --bf16 --steps 3
run train_speed_12x64_fast 120 python benchmarks/train_speed.py --preset kinetics600-12x64 \
  --set train.batch_size=16 --set train.channels_last=true --set train.fused_optimizer=true \
  --device cuda --bf16 --steps 3
# Top ops of a bf16 step, CPU and CUDA.
run profile_12x64 60 python benchmarks/profile_step.py --preset kinetics600-12x64 \
  --set train.batch_size=16 --device cuda --bf16 --rows 15
# 48x128x128 on one GPU: bf16, activation checkpointing, micro-batch 4 accumulated to the paper's batch;
# the largest micro-batch that fits is found by trying 8 if 4 fits.
for mb in 4 8; do
  run train_speed_48x128_mb$mb 150 python benchmarks/train_speed.py --preset kinetics600-48x128 \
    --set train.batch_size=$((mb * 2)) --set train.micro_batch=$mb --set train.checkpoint_activations=true \
    --device cuda --bf16 --steps 1 || break
done

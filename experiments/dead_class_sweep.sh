#!/usr/bin/env bash
# The runs behind docs/results.md section 14: `tiny` as it was after section 13 (ReLU, no mode-seeking term,
# 2,000 steps; pinned in `common`) with G's leaky ReLU (`leak`), the mode-seeking term (`ms`) or both (`both`,
# which is `tiny` now). Continue a run to 3,000 steps with: cp -r OUT/NAME OUT/NAME-3000 &&
# dvdgan train --out OUT/NAME-3000 --steps 3000 --set train.threads=1 --quiet --resume
# Tables: python experiments/class_table.py OUT/* --steps 1000 1500 2000; python experiments/dead_class.py CKPT
# usage: bash experiments/dead_class_sweep.sh OUT [NAME ...]   (no names: all runs)
set -euo pipefail
out=${1:?usage: dead_class_sweep.sh OUT [NAME ...]}
shift
common=(--steps 2000 --set train.threads=1 --quiet --set model.generator.relu_slope=0 --set train.extra_terms.mode_seeking=0)
leak="--set model.generator.relu_slope=0.2"
ms="--set train.extra_terms.mode_seeking=1"
declare -A runs=(
  [leak]="$leak"
  [leak-s1]="$leak --set train.seed=1"
  [leak-s2]="$leak --set train.seed=2"
  [ms]="$ms"
  [both]="$leak $ms"
  [both-s1]="$leak $ms --set train.seed=1"
  [both-s2]="$leak $ms --set train.seed=2"
  [both-s3]="$leak $ms --set train.seed=3"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${!runs[@]}")
# shellcheck source=experiments/_two_at_a_time.sh
source "$(dirname "$0")/_two_at_a_time.sh"
run_two_at_a_time "$out" names runs common

#!/usr/bin/env bash
# The generator/discriminator variants tried on `motion` synthesis (8 classes, 8x32x32, the `tiny` recipe), each
# one `dvdgan train` run with class accuracy and the motion metric every 250 steps. Two runs share the two cores
# (one thread each). Summarise with: python experiments/summarise_runs.py OUT/*
# usage: bash experiments/recipe_sweep.sh OUT [NAME ...]   (no names: all variants)
set -euo pipefail
out=${1:?usage: recipe_sweep.sh OUT [NAME ...]}
shift
common=(--data motion --set model.num_classes=8 --set train.threads=1 --set train.eval_every=250
        --set train.sample_every=250 --set train.checkpoint_every=250 --set "eval.metrics=[class_acc,motion]"
        --set eval.num_samples=160 --quiet)
# pooledbn-ubias-d8, pooledbn-ubias-d8-pool1 and still-d8 set model.generator.bn_pool_time or
# train.temporal_negatives: the flag was removed in issue 27; its results stay in docs/results.md, rerun them at the commit before it
declare -A variants=(
  [base-d8]="--steps 800 --set model.discriminator.ch=8"
  [base-d8-pool1]="--steps 1000 --set model.discriminator.ch=8 --set model.discriminator.temporal_pool=1"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${!variants[@]}")
# shellcheck source=experiments/_two_at_a_time.sh
source "$(dirname "$0")/_two_at_a_time.sh"
run_two_at_a_time "$out" names variants common

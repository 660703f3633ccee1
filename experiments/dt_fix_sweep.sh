#!/usr/bin/env bash
# The runs behind docs/results.md section 7 (a dead D_T, then a D_T that sees motion), on the default `tiny`
# preset as it was before the fix: each is `dvdgan train` with in-loop class accuracy and motion every 250 steps,
# two runs sharing the two cores (one thread each). Summarise with: python experiments/summarise_runs.py OUT/*
# The paper-faithful D_T settings are passed explicitly so that the runs do not depend on the preset's defaults.
# usage: bash experiments/dt_fix_sweep.sh OUT [NAME ...]   (no names: all runs)
set -euo pipefail
out=${1:?usage: dt_fix_sweep.sh OUT [NAME ...]}
shift
common=(--set train.threads=1 --set train.eval_every=250 --set train.sample_every=250
        --set train.checkpoint_every=250 --set "eval.metrics=[class_acc,motion]" --set eval.num_samples=180 --quiet
        --set model.discriminator.ch=4 --set model.discriminator.temporal_ch=0 --set model.discriminator.temporal_pool=2
        --set model.discriminator.temporal_input=frames)
# frozen, frozen-flat-g and dt8-pool1-frozen set train.temporal_negatives (and model.generator.bn_pool_time):
# the flag was removed in issue 27; its results stay in docs/results.md, rerun them at the commit before it
declare -A runs=(
  [paper-dt]="--steps 2000"
  [dt8-pool1]="--steps 1250 --set model.discriminator.temporal_ch=8 --set model.discriminator.temporal_pool=1"
  [dt8-pool1-diff]="--steps 1500 --set model.discriminator.temporal_ch=8 --set model.discriminator.temporal_pool=1 --set model.discriminator.temporal_input=differences"
  [d8-pool1-diff]="--steps 1500 --set model.discriminator.ch=8 --set model.discriminator.temporal_pool=1 --set model.discriminator.temporal_input=differences"
  [dt8-pool2-diff]="--steps 2000 --set model.discriminator.temporal_ch=8 --set model.discriminator.temporal_input=differences"
  [d8-pool2-diff]="--steps 2000 --set model.discriminator.ch=8 --set model.discriminator.temporal_input=differences"
  [dt8-pool2-diff-z05]="--steps 2000 --set model.discriminator.temporal_ch=8 --set model.discriminator.temporal_input=differences --set model.generator.z_scale=0.5"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${!runs[@]}")
# shellcheck source=experiments/_two_at_a_time.sh
source "$(dirname "$0")/_two_at_a_time.sh"
run_two_at_a_time "$out" names runs common

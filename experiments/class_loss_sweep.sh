#!/usr/bin/env bash
# The runs behind docs/results.md section 13: `tiny` as it was after section 12 (D_S width 4, lr_d 1e-3, class
# loss 1; pinned in `common`) with one change each, looking for the squares that the default run missed. Each is
# `dvdgan train` with in-loop class accuracy and motion every 250 steps, two runs sharing the two cores.
# Summarise with: python experiments/summarise_runs.py OUT/*   and   python experiments/class_diagnosis.py OUT/NAME
# usage: bash experiments/class_loss_sweep.sh OUT [NAME ...]   (no names: all runs)
set -euo pipefail
out=${1:?usage: class_loss_sweep.sh OUT [NAME ...]}
shift
common=(--steps 2000 --set train.threads=1 --quiet --set model.discriminator.ch=4 --set model.discriminator.temporal_ch=8
        --set train.extra_terms.class_loss=1 --set train.extra_terms.class_loss_g=null)
ds16="--set model.discriminator.ch=16"
# tf01 and ds16-d5-tf01-s1 set model.generator.tanh_grad_floor=0.1: the flag was removed in issue 27; its results stay in docs/results.md, rerun them at the commit before it
declare -A runs=(
  [g0]="--set train.extra_terms.class_loss_g=0"
  [d3]="--set train.extra_terms.class_loss=3 --set train.extra_terms.class_loss_g=1"
  [d3g0]="--set train.extra_terms.class_loss=3 --set train.extra_terms.class_loss_g=0"
  [ds16]="$ds16"
  [ds16-s1]="$ds16 --set train.seed=1"
  [ds16-ds2]="$ds16 --set train.d_steps=2"
  [ds16-d3]="$ds16 --set train.extra_terms.class_loss=3 --set train.extra_terms.class_loss_g=1"
  [ds16-d3-s1]="$ds16 --set train.extra_terms.class_loss=3 --set train.extra_terms.class_loss_g=1 --set train.seed=1"
  [ds16-d5]="$ds16 --set train.extra_terms.class_loss=5 --set train.extra_terms.class_loss_g=1"
  [ds16-d5-s1]="$ds16 --set train.extra_terms.class_loss=5 --set train.extra_terms.class_loss_g=1 --set train.seed=1"
  [ds16-d5-s2]="$ds16 --set train.extra_terms.class_loss=5 --set train.extra_terms.class_loss_g=1 --set train.seed=2"
  [ds16-d5-cap-s0]="$ds16 --set train.extra_terms.class_loss=5 --set train.extra_terms.class_loss_g=1 --set train.extra_terms.class_loss_g_cap=true"
  [ds16-d5-cap-s1]="$ds16 --set train.extra_terms.class_loss=5 --set train.extra_terms.class_loss_g=1 --set train.extra_terms.class_loss_g_cap=true --set train.seed=1"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${!runs[@]}")
# shellcheck source=experiments/_two_at_a_time.sh
source "$(dirname "$0")/_two_at_a_time.sh"
run_two_at_a_time "$out" names runs common

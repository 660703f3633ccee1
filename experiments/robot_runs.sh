#!/usr/bin/env bash
# The robot benchmark's runs (docs/results.md, the robot section), two at a time, one core each:
#   cpu   -- `small` as shipped (the CPU recipe), unconditional on the robot store
#   paper -- the paper's recipe at the same widths, batch and step budget (experiments/robot/paper.yaml)
#   fp    -- DVD-GAN-FP 1 -> 15 at 64x64 with the CPU recipe (experiments/robot/fp.yaml)
#   fp-residual -- fp, G predicting changes of the context frame (experiments/robot/fp-residual.yaml)
#
#   bash experiments/robot_runs.sh DATA OUT STEPS [NAME ...]     e.g. data/robot runs/robot 2000 cpu paper
#
# DATA holds train/ and test/ (benchmarks/robot_data.py). Afterwards: experiments/robot_table.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=$1 out=$2 steps=$3
shift 3
names=("${@:-cpu paper fp}")
# What is watched during training: in-loop FVD on a small protocol against the training store, every 250 steps,
# and every checkpoint kept so that robot_table.py can evaluate FVD over steps on the test store afterwards.
common=(--data "prepared:$data/train" --steps "$steps" --quiet
        --set train.threads=1 --set train.sample_every=250 --set train.checkpoint_every=250
        --set train.eval_every=250 --set train.keep_checkpoints=1000 --set train.log_every=10
        --set "eval.metrics=[fvd,motion]" --set eval.protocol=fvd64_16f --set eval.num_samples=64 --set eval.standing_stats=0)
declare -A args=(
    [cpu]="--preset small"
    [paper]="--preset kinetics600-12x64 --config $here/robot/paper.yaml"
    [fp]="--preset small --config $here/robot/fp.yaml"
    [fp-residual]="--preset small --config $here/robot/fp-residual.yaml"
)
source "$here/_two_at_a_time.sh"
# shellcheck disable=SC2206
names=(${names[*]})
run_two_at_a_time "$out" names args common

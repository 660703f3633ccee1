# Sourced by the sweep scripts: run_two_at_a_time OUT NAME_ARRAY ARGS_ARRAY COMMON_ARRAY trains each named run
# (`dvdgan train --out OUT/NAME COMMON... --set train.seed=0 ARGS[NAME]`: a run's own seed wins), two at a time
# (one per core), then waits.
run_two_at_a_time() {
  local out=$1
  local -n _names=$2 _args=$3 _common=$4
  local name
  for name in "${_names[@]}"; do
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 dvdgan train --out "$out/$name" "${_common[@]}" --set train.seed=0 ${_args[$name]} &
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 5; done
  done
  wait
}

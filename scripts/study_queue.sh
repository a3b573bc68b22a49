#!/usr/bin/env bash
# Train the converged study's runs in priority order, as one of several workers, committing each
# finished run to git (the in-repo DVC remote dvcstore/) so that a stopped machine loses only the run
# in progress. Each worker needs its own clone (DVC runs one stage at a time per workspace); on a
# 2-core machine two workers pinned to one core each train more per hour than one on both.
#
#   scripts/study_queue.sh WORKER WORKERS        # e.g. in clone A: 1 2, in clone B: 2 2
#   scripts/study_queue.sh --list                # the priority order
#
# Order (docs/preregistration.md): the primary pair (proposed hybrid and cnn32) fold by fold, then the
# other main models, then the rest. Worker k of n takes every n-th run from the k-th. A run another
# machine already pushed is restored by `dvc repro --pull`, not retrained. Afterwards, in one
# checkout: `make repro` restores every run, writes dvc.lock and the study's results.
set -uo pipefail
cd "$(dirname "$0")/.."

priority() {
  local models proposed main rest f m
  proposed=$(python -c 'import yaml; print(yaml.safe_load(open("params.yaml"))["model"]["name"])')
  mapfile -t main < <(python -c 'import yaml; p = yaml.safe_load(open("params.yaml"))
print(*[m for m in p["study"]["main_models"] if m != p["model"]["name"]], sep="\n")')
  mapfile -t rest < <(python -c 'import yaml; p = yaml.safe_load(open("params.yaml"))
print(*[m for m in p["study"]["models"] if m not in p["study"]["main_models"]], sep="\n")')
  stage() { if [ "$1" = "$proposed" ]; then echo "train_hybrid@$2"; else echo "train@$1-$2"; fi; }
  for f in 0 1 2 3 4 5 6 7 8 9; do stage "$proposed" $f; stage "${main[0]}" $f; done
  for m in "${main[@]:1}"; do for f in 0 1 2 3 4 5 6 7 8 9; do stage "$m" $f; done; done
  for m in "${rest[@]}"; do for f in 0 1 2 3 4 5 6 7 8 9; do stage "$m" $f; done; done
}

if [ "${1:-}" = "--list" ]; then priority; exit 0; fi
if [ $# -ne 2 ] || [ "$1" -lt 1 ] || [ "$1" -gt "$2" ]; then
  echo "usage: $0 WORKER WORKERS (1 <= WORKER <= WORKERS) | --list" >&2; exit 2
fi
worker=$1 workers=$2
cpu=$(python -c 'import platform; print(open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip() if platform.system() == "Linux" else platform.processor())')
mapfile -t mine < <(priority | awk -v k="$worker" -v n="$workers" '(NR - k) % n == 0')
# Run-cache entries other machines pushed: their runs are then restored, not retrained.
dvc pull --run-cache -q >/dev/null 2>&1 || true
# An edit to the training code or params since the committed runs would retrain all of them.
python -m cnnlstm.study_drift || exit 1
trap 'echo "study_queue: stopped; rerun it to continue (finished runs are committed)" >&2; exit 130' INT TERM
for target in "${mine[@]}"; do
  started=$(date +%s)
  if ! dvc repro --pull "$target"; then
    echo "study_queue: $target failed (output above); stopping" >&2; exit 1
  fi
  dvc push --run-cache -q || { echo "study_queue: dvc push failed after $target" >&2; exit 1; }
  git add dvcstore
  if ! git diff --cached --quiet; then
    git commit -q -m "Converged study: $target ($(( $(date +%s) - started )) s on 1 worker of $workers, $cpu)"
    echo "study_queue: $target committed"
  fi
done
echo "study_queue: worker $worker of $workers done"

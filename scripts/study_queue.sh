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
# other main models, then the rest; then the convergence check (the main models at
# study.convergence_epochs) and the other seeds of study.seeds (the primary pair and cnn32_bilstm,
# as pre-registered). Those two run as `dvc exp run -S KEY=VALUE`, params.yaml restored afterwards.
# Worker k of n takes every n-th run from the k-th. A run dvc.lock records whose outputs dvcstore/
# holds is skipped; any other run the store holds (entry and outputs) is restored by `--pull`, not
# retrained. Each run's outputs are pushed while dvc.lock names them: `dvc push --run-cache` sends
# only the entries (cnnlstm.store_outputs), which then fails the worker if any entry lacks them. Afterwards, in one checkout: `make repro` restores every run,
# writes dvc.lock and the study's results; docs/budget.md keeps the 15-epoch point and the seeds.
set -uo pipefail
cd "$(dirname "$0")/.."

priority() {
  local proposed main rest seeds epochs f m s
  read_params() { python -c "import yaml; p = yaml.safe_load(open('params.yaml')); $1"; }
  proposed=$(read_params 'print(p["model"]["name"])')
  mapfile -t main < <(read_params 'print(*[m for m in p["study"]["main_models"] if m != p["model"]["name"]], sep="\n")')
  mapfile -t rest < <(read_params 'print(*[m for m in p["study"]["models"] if m not in p["study"]["main_models"]], sep="\n")')
  mapfile -t seeds < <(read_params 'print(*p["study"]["seeds"][1:], sep="\n")')
  epochs=$(read_params 'print(p["study"]["convergence_epochs"])')
  stage() { if [ "$1" = "$proposed" ]; then echo "train_hybrid@$2${3:+ $3}"; else echo "train@$1-$2${3:+ $3}"; fi; }
  for f in 0 1 2 3 4 5 6 7 8 9; do stage "$proposed" $f; stage "${main[0]}" $f; done
  for m in "${main[@]:1}"; do for f in 0 1 2 3 4 5 6 7 8 9; do stage "$m" $f; done; done
  for m in "${rest[@]}"; do for f in 0 1 2 3 4 5 6 7 8 9; do stage "$m" $f; done; done
  for f in 0 1 2 3 4 5 6 7 8 9; do for m in "$proposed" "${main[@]}"; do stage "$m" $f "train.epochs=$epochs"; done; done
  for s in "${seeds[@]}"; do
    for f in 0 1 2 3 4 5 6 7 8 9; do for m in "$proposed" "${main[0]}" cnn32_bilstm; do stage "$m" $f "train.seed=$s"; done; done
  done
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
mapfile -t done < <(python -m cnnlstm.store_outputs --done)
for line in "${mine[@]}"; do
  read -r target override <<<"$line"
  if [ -z "$override" ] && printf '%s\n' "${done[@]}" | grep -qxF "$target"; then continue; fi
  started=$(date +%s)
  if [ -z "$override" ]; then
    dvc repro --pull "$target"
  else  # DVC's own parameter override; the clone's params.yaml and dvc.lock are the study's again after the push
    dvc exp run --pull -S "$override" "$target"
  fi && dvc push -q "$target" && dvc push --run-cache -q; status=$?
  [ -z "$override" ] || git checkout -q HEAD -- params.yaml dvc.lock  # DVC stages them: HEAD, not the index
  [ $status = 0 ] || { echo "study_queue: $line failed (output above); stopping" >&2; exit 1; }
  python -m cnnlstm.store_outputs || exit 1
  git add dvcstore
  if ! git diff --cached --quiet; then
    git commit -q -m "Converged study: $line ($(( $(date +%s) - started )) s on 1 worker of $workers, $cpu)"
    echo "study_queue: $line committed"
  fi
done
echo "study_queue: worker $worker of $workers done"

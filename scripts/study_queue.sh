#!/usr/bin/env bash
# Train the converged study's runs in priority order, as one of several workers, committing each
# finished run to git (the in-repo DVC remote dvcstore/) so that a machine cut off loses only the run
# in progress, and one stopped with SIGTERM not even that (below). Each worker needs its own clone
# (DVC runs one stage at a time per workspace); on a 2-core machine two workers pinned to one core
# each train more per hour than one on both.
#
#   scripts/study_queue.sh WORKER WORKERS        # e.g. in clone A: 1 2, in clone B: 2 2
#   scripts/study_queue.sh --list                # the priority order
#   scripts/study_queue.sh --check               # whether this machine can train the study (one line if not)
#
# Order (docs/preregistration.md): the primary pair (proposed hybrid and cnn32) fold by fold, then the
# other main models, then the rest; then the convergence check (the main models at
# study.convergence_epochs); then Amendment 1's extension (the main models at twice train.epochs, the
# primary pair first); then the other seeds of study.seeds (the primary pair and cnn32_bilstm, as
# pre-registered); then Amendment 2's fp32 arm (the primary pair with train.precision=fp32, at
# train.epochs and at the extension's budget). A machine that cannot train the study's bf16 (a CPU
# without AVX-512) but can train fp32 takes only that arm. Override runs are `dvc exp run -S KEY=VALUE
# [-S KEY=VALUE]`, params.yaml restored afterwards.
# Worker k of n takes every n-th run from the k-th; the convergence check and the extension list their
# models in reverse on odd folds, so that two workers share the slow ones (cnn32_bilstm takes twice as
# long as cnn32) instead of one taking them all. A run listed twice (an extension equal to the
# check's budget, in a tiny study) is trained once. A run the store holds whole is skipped: a dvc.lock
# run by its record there, an override run by its run-cache entry (`cnnlstm.store_outputs --done`); any other
# run the store holds is restored by `--pull`, not retrained. Each run's outputs are pushed while
# dvc.lock still names them, since `dvc push --run-cache` sends only the entries; `python -m
# cnnlstm.store_outputs` then stops the worker if any entry in the store lacks its outputs.
# A worker stopped by SIGINT or SIGTERM commits the checkpoint of the run in progress (`checkpoints/`,
# 3 to 6 MB for a main model: the weights, the best epoch's and AdamW's state), so that a machine of
# the next sitting resumes that run from its last finished epoch instead of from epoch 1; the run's
# record then names the CPU that finished it. The signal only asks: the worker stops once the stage
# it trains has ended (stopped too, as scripts/study_sitting.sh stop does, or finished), and a
# finished run is pushed and committed first, so that a stop during the push loses nothing. A
# machine that is cut off commits nothing; if its clone survives, its checkpoints/ copied into the new
# clone of the same worker resume the run (scripts/study_sitting.sh start does it; docs/workflow.md).
# Afterwards, in one checkout: `make repro` restores every run, writes dvc.lock and the study's
# results; docs/budget.md keeps the 15-epoch point and the seeds.
set -uo pipefail
cd "$(dirname "$0")/.."

priority() {
  local proposed main rest seeds folds epochs extension arm order f m s
  read_params() { python -c "import yaml; p = yaml.safe_load(open('params.yaml')); $1"; }
  read_list() { read_params "print(*$1, sep='\\n')" | sed '/^$/d'; }  # an empty list: no lines
  proposed=$(read_params 'print(p["model"]["name"])')
  mapfile -t main < <(read_list '[m for m in p["study"]["main_models"] if m != p["model"]["name"]]')
  mapfile -t rest < <(read_list '[m for m in p["study"]["models"] if m not in p["study"]["main_models"]]')
  mapfile -t seeds < <(read_list 'p["study"]["seeds"][1:]')
  mapfile -t folds < <(read_list 'p["cv"]["fold_ids"]')
  epochs=$(read_params 'print(p["study"]["convergence_epochs"])')
  extension=$(read_params 'from cnnlstm.study.extension import extension_epochs; print(extension_epochs(p["train"]["epochs"]))') \
    || return 1
  # the fp32 arm, unless the study itself is fp32 (a smoke study): then it would be the study again
  arm=$(read_params 'from cnnlstm.study.fp32_arm import ARM_OVERRIDE, ARM_PRECISION
print(ARM_OVERRIDE if p["train"]["precision"] != ARM_PRECISION else "")') || return 1
  stage() { if [ "$1" = "$proposed" ]; then echo "train_hybrid@$2${3:+ $3}"; else echo "train@$1-$2${3:+ $3}"; fi; }
  alternating() {  # OVERRIDE MODEL...: fold by fold, the models in reverse order on odd folds
    local override=$1 reversed=() m; shift
    for m in "$@"; do reversed=("$m" "${reversed[@]}"); done
    for f in "${folds[@]}"; do
      if (( f % 2 )); then order=("${reversed[@]}"); else order=("$@"); fi
      for m in "${order[@]}"; do stage "$m" $f "$override"; done
    done
  }
  for f in "${folds[@]}"; do stage "$proposed" $f; stage "${main[0]}" $f; done
  for m in "${main[@]:1}"; do for f in "${folds[@]}"; do stage "$m" $f; done; done
  for m in "${rest[@]}"; do for f in "${folds[@]}"; do stage "$m" $f; done; done
  alternating "train.epochs=$epochs" "$proposed" "${main[@]}"
  alternating "train.epochs=$extension" "$proposed" "${main[0]}"
  alternating "train.epochs=$extension" "${main[@]:1}"
  for s in "${seeds[@]}"; do
    for f in "${folds[@]}"; do for m in "$proposed" "${main[0]}" cnn32_bilstm; do stage "$m" $f "train.seed=$s"; done; done
  done
  [ -z "$arm" ] || alternating "$arm" "$proposed" "${main[0]}"
  [ -z "$arm" ] || alternating "train.epochs=$extension $arm" "$proposed" "${main[0]}"
}

listed() { priority | awk '!seen[$0]++'; }  # each run once, in its first place
# Whether this machine can train params.yaml with DVC's overrides KEY=VALUE... (bf16 needs AVX-512 or a
# GPU); if not, a one-line error naming the key.
can_train() {
  python - "$@" <<'PY'
import sys
import yaml
from cnnlstm.core.errors import exit_on_error
from cnnlstm.core.params import check_devices, parse_params
from cnnlstm.store_outputs import overridden

def check() -> None:
    params = {"params.yaml": yaml.safe_load(open("params.yaml"))}
    for override in sys.argv[1:]:
        params = overridden(params, override)
    check_devices(parse_params(params["params.yaml"]))

exit_on_error(check)()
PY
}
# The runs this machine takes: all, or on a machine that cannot train the study's precision but can
# train the fp32 arm's, the arm alone (saying so); a machine that can train neither stops in one line,
# before pulling the store, instead of at its first run.
only_arm=""
trainable() {
  local refused arm
  refused=$(can_train 2>&1) && return 0
  arm=$(python -c 'from cnnlstm.study.fp32_arm import ARM_OVERRIDE; print(ARM_OVERRIDE)') \
    && can_train "$arm" >/dev/null 2>&1 || { echo "$refused" >&2; return 1; }
  only_arm=$arm
  echo "study_queue: ${refused#error: }: this machine trains only the fp32 arm (docs/preregistration.md, Amendment 2)" >&2
}
if [ "${1:-}" = "--list" ]; then listed; exit; fi
if [ "${1:-}" = "--check" ]; then trainable; exit; fi
if [ $# -ne 2 ] || [ "$1" -lt 1 ] || [ "$1" -gt "$2" ]; then
  echo "usage: $0 WORKER WORKERS (1 <= WORKER <= WORKERS) | --list | --check" >&2; exit 2
fi
worker=$1 workers=$2
trainable || exit 1
cpu=$(python -c 'import platform; print(open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip() if platform.system() == "Linux" else platform.processor())')
runs=$(listed) || { echo "study_queue: cannot list the runs from params.yaml (above)" >&2; exit 1; }
[ -z "$only_arm" ] || runs=$(grep -F -- " $only_arm" <<<"$runs")
mapfile -t mine < <(awk -v k="$worker" -v n="$workers" '(NR - k) % n == 0' <<<"$runs")
# Run-cache entries other machines pushed: their runs are then restored, not retrained.
dvc pull --run-cache -q >/dev/null 2>&1 || true
held() { [ ! -d dvcstore/runs ] || python -m cnnlstm.store_outputs --done; }  # the runs on stdin the store holds whole
done=() override=""
if [ -d dvcstore/runs ]; then  # a new study has no runs yet
  # An edit to the training code or params since the committed runs would retrain all of them.
  python -m cnnlstm.study_drift || exit 1
  mapfile -t done < <(printf '%s\n' "${mine[@]}" | held)
fi
saved=$(mktemp -d)
put_back() {  # params.yaml and dvc.lock as they were before an override run, and unstaged (`dvc exp run` stages them)
  cp "$saved/params.yaml" .; if [ -f "$saved/dvc.lock" ]; then cp "$saved/dvc.lock" .; else rm -f dvc.lock; fi
  git reset -q -- params.yaml dvc.lock
}
keep_checkpoint() {  # a stopped run's last finished epoch, committed: the next machine resumes it there
  [ -n "$(ls -A checkpoints 2>/dev/null)" ] && git add -f -- checkpoints && ! git diff --cached --quiet || return 0
  git commit -q -m "Converged study: $line stopped, its checkpoint kept for the next sitting ($(( $(date +%s) - started )) s on 1 worker of $workers, $cpu)"
  echo "study_queue: committed the checkpoint of $line; the next worker resumes it" >&2
}
stopped() {
  [ -z "$override" ] || put_back
  keep_checkpoint
  echo "study_queue: stopped; rerun it to continue (finished runs are committed)" >&2; exit 130
}
stop_asked=""
trap 'stop_asked=1' INT TERM  # acted on between runs, or when a run ends unfinished (below)
line="" started=$(date +%s)
for line in "${mine[@]}"; do
  override=""
  [ -z "$stop_asked" ] || stopped
  read -r target override <<<"$line"
  if printf '%s\n' "${done[@]}" | grep -qxF "$line"; then continue; fi
  # An override run is found by its stage's dvc.lock record, which a run above may have restored.
  if [ -n "$override" ] && [ -n "$(held <<<"$line")" ]; then continue; fi
  started=$(date +%s)
  if [ -z "$override" ]; then
    dvc repro --pull "$target"
  else  # DVC's own parameter overrides; params.yaml and dvc.lock are put back after the push
    cp params.yaml "$saved/"; rm -f "$saved/dvc.lock"; [ ! -f dvc.lock ] || cp dvc.lock "$saved/"
    sets=(); for setting in $override; do sets+=(-S "$setting"); done
    dvc exp run --pull "${sets[@]}" "$target"
  fi && dvc push -q "$target" && dvc push --run-cache -q; status=$?
  [ -z "$override" ] || put_back
  [ $status = 0 ] || [ -z "$stop_asked" ] || stopped  # stopped midway: its checkpoint is kept
  [ $status = 0 ] || { echo "study_queue: $line failed (output above); stopping" >&2; exit 1; }
  python -m cnnlstm.store_outputs || exit 1
  git add dvcstore
  # A committed checkpoint this run resumed from is gone now that the run is done (train_run removes it).
  git ls-files -z --deleted -- checkpoints | xargs -0 -r git rm -q --cached --
  if ! git diff --cached --quiet; then
    git commit -q -m "Converged study: $line ($(( $(date +%s) - started )) s on 1 worker of $workers, $cpu)"
    echo "study_queue: $line committed"
  fi
done
override=""
[ -z "$stop_asked" ] || stopped
echo "study_queue: worker $worker of $workers done"

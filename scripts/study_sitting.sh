#!/usr/bin/env bash
# The converged study's background training for one sitting on one machine, in one command at each
# end (docs/workflow.md): scripts/study_queue.sh workers, each in its own clone pinned to one core.
#
#   scripts/study_sitting.sh start [WORKERS]   # the workers, in the background (default: one per core)
#   scripts/study_sitting.sh status            # which workers run, their last line, the runs committed
#   scripts/study_sitting.sh stop              # SIGTERM to each queue and stage, wait, merge: before the machine goes
#   scripts/study_sitting.sh merge             # each worker's newest run commit into this checkout
#
# The clones live next to this checkout, in ../<its name>-workers/<k>/ with <k>.log and <k>.pid.
# `start` first merges what the last sitting's workers committed, if their clones are still on disk,
# and gives each new clone the checkpoints its old clone holds that git does not: a worker cut off
# without a signal committed none, and worker k of n takes the same runs in every sitting, so it resumes them
# (train_run checks each checkpoint's settings fingerprint). A worker stopped with SIGTERM commits its
# checkpoint itself, and `stop` merges it, so the next machine resumes from git alone.
# Needs the venv on PATH, as the queue does (`make study` and `make study-stop` see to it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
pool="$(dirname "$repo")/$(basename "$repo")-workers"

fail() { echo "study_sitting: $*" >&2; exit 1; }
running() {  # K: whether worker K's queue is alive (its pid file names it, and it is still the queue)
  local pid
  pid=$(cat "$pool/$1.pid" 2>/dev/null) || return 1
  ps -o args= -p "$pid" 2>/dev/null | grep -q "study_queue.sh"
}
workers() {  # the worker numbers with a clone or a pid file, in order
  [ -d "$pool" ] || return 0
  find "$pool" -mindepth 1 -maxdepth 1 \( -type d -o -name '*.pid' \) -printf '%f\n' | sed 's/\.pid$//' \
    | grep -xE '[0-9]+' | sort -nu
}

merge_worker() {  # K: its newest run commit (by subject: a stopped `dvc exp run` leaves HEAD detached)
  local clone="$pool/$1" newest
  newest=$(git -C "$clone" log -1 --format=%H --grep '^Converged study:' 2>/dev/null) || return 0
  [ -n "$newest" ] && ! git merge-base --is-ancestor "$newest" HEAD 2>/dev/null || return 0
  git pull -q --no-rebase --no-edit "$clone" "$newest" || fail "cannot merge worker $1's runs from $clone (above)"
  echo "study_sitting: merged worker $1's runs up to $(git log -1 --format=%h "$newest")"
}

committed() {  # how many of the queue's runs the store holds whole, per kind of run
  local listed
  listed=$(bash scripts/study_queue.sh --list) || fail "cannot list the runs from params.yaml (above)"
  { [ ! -d dvcstore/runs ] || python -m cnnlstm.store_outputs --done <<<"$listed"; } | awk -v listed="$listed" '
    function kind(line) { return sub(/^[^ ]+ /, "", line) ? line : "params.yaml as it is" }  # its overrides
    BEGIN { n = split(listed, all, "\n"); for (i = 1; i <= n; i++) { k = kind(all[i]); if (!(k in total)) order[++kinds] = k; total[k]++ } }
    { held[kind($0)]++ }
    END { for (i = 1; i <= kinds; i++) printf "study_sitting: %s: %d of %d runs committed\n", order[i], held[order[i]], total[order[i]] }'
}

start() {
  local n=${1:-} k clone kept previous checkpoint
  previous=$(cat "$pool/workers" 2>/dev/null || true)
  n=${n:-${previous:-$(nproc)}}
  [[ $n =~ ^[1-9][0-9]*$ ]] || fail "WORKERS must be a positive number, not '$n'"
  bash scripts/study_queue.sh --check || exit 1
  for k in $(workers); do ! running "$k" || fail "worker $k still runs ($pool/$k.log); stop it first"; done
  git diff --quiet HEAD -- || fail "commit or undo the changes to tracked files first: the workers clone HEAD"
  git config user.name >/dev/null && git config user.email >/dev/null \
    || fail "set git's user.name and user.email first: the workers commit every run"
  for k in $(workers); do merge_worker "$k"; done
  kept=$(mktemp -d)
  trap "rm -rf '$kept'" EXIT  # kept's path, fixed now: the trap runs after start returns
  for k in $(workers); do
    for checkpoint in "$pool/$k/checkpoints/"*.pt; do  # those git does not hold as they are: a cut-off's
      [ -f "$checkpoint" ] && ! cmp -s "$checkpoint" <(git show "HEAD:checkpoints/${checkpoint##*/}" 2>/dev/null) \
        || continue
      [ "$n" = "$previous" ] || fail "worker $k of the last sitting's $previous was cut off in a run" \
        "($checkpoint); start $previous workers to resume it"
      mkdir -p "$kept/$k" && cp -p "$checkpoint" "$kept/$k/"
    done
  done
  for k in $(workers); do rm -rf "${pool:?}/$k" "$pool/$k.pid"; done
  mkdir -p "$pool" && echo "$n" >"$pool/workers"
  for ((k = 1; k <= n; k++)); do
    clone="$pool/$k"
    git clone -q "$repo" "$clone"
    for key in user.name user.email; do git -C "$clone" config "$key" "$(git config "$key")"; done
    if [ -d "$kept/$k" ]; then
      mkdir -p "$clone/checkpoints" && cp -p "$kept/$k/"* "$clone/checkpoints/"
      echo "study_sitting: worker $k resumes from the checkpoints its clone was cut off with: $(ls "$kept/$k" | tr '\n' ' ')"
    fi
    # Its own session (setsid), so that `stop` finds its stage among all of this machine's; the clone's
    # src/ ahead of any installed cnnlstm, so the clone's code is what trains.
    PYTHONPATH="$clone/src${PYTHONPATH:+:$PYTHONPATH}" setsid bash -c \
      'cd "$0" && echo $$ >"$1" && exec taskset -c "$2" bash scripts/study_queue.sh "$3" "$4"' \
      "$clone" "$pool/$k.pid" $(((k - 1) % $(nproc))) "$k" "$n" >"$pool/$k.log" 2>&1 </dev/null &
    echo "study_sitting: worker $k of $n started on core $(((k - 1) % $(nproc))) in $clone (log $pool/$k.log)"
  done
}

status() {
  local k state
  for k in $(workers); do
    if running "$k"; then state="running"; else state="stopped"; fi
    echo "study_sitting: worker $k $state: $(tail -n 1 "$pool/$k.log" 2>/dev/null || echo 'no log')"
  done
  committed
}

stop() {
  local k deadline=$((SECONDS + 600))
  # The queue first, so that it knows why its stage ends; then the stage, again each second until the
  # queue has stopped (DVC may be about to start it); DVC, git and pushes are left to finish.
  for k in $(workers); do ! running "$k" || kill -TERM "$(cat "$pool/$k.pid")" 2>/dev/null || true; done
  for k in $(workers); do
    while running "$k"; do
      ((SECONDS < deadline)) || fail "worker $k has not stopped within 10 minutes ($pool/$k.log)"
      pkill -TERM -s "$(cat "$pool/$k.pid")" -f 'stages/train\.py' || true
      sleep 1
    done
  done
  merge
}

merge() {
  local k
  for k in $(workers); do merge_worker "$k"; done
  committed
}

case "${1:-}" in
  start) start "${2:-}" ;;
  status | stop | merge) "$1" ;;
  *) echo "usage: $0 start [WORKERS] | status | stop | merge" >&2; exit 2 ;;
esac

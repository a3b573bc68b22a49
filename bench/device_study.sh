#!/usr/bin/env bash
# The whole GPU check in one device call, built to survive its first failure. See docs/gpu.md.
#
#   bench/device_study.sh prepare      # here: wheels + Fashion-MNIST into .cache/device, and `travel`
#   bench/device_study.sh travel       # here: the MiB the device tool would send; fails over its 64 MiB
#   bench/device_study.sh stow         # here, before the call: the in-repo DVC remote stays behind
#   bench/device_study.sh unstow       # here, after the call: the remote back in the working tree
#   bench/device_study.sh run          # there, as the device command (OUT is set by the device tool)
#   bench/device_study.sh --cpu        # here or in CI: the same script end to end on the CPU, tiny
#                                      # profile, no capture (OUT defaults to a temporary folder)
#
# Order: a ~10 s capture smoke check, the CUDA tests, bench/gpu.py, then `dvc repro` of the
# converged profile. Each step has its own time limit and writes to $OUT as it goes; a failed step
# is logged and the next one runs; everything is packed on any exit (trap EXIT), so a crash or a
# timeout still brings back what was measured. Environment (run): DEADLINE_S (default 510:
# seconds from start after which the study is stopped), STEPS (default "smoke tests bench study").
set -uo pipefail  # no -e: a failed step must not skip the packing
cd "$(dirname "$0")/.."
CARRY=.cache/device  # .cache/ is git-ignored, so the device tool must be told to carry it
DATA_FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
LIMIT_MIB=64    # the most the device tool sends: the working tree's files and the carried paths
STORE=dvcstore  # the in-repo DVC remote: tracked, over 100 MiB, and not needed there (the study starts empty)

# NUL-separated, what the device tool copies: tracked and untracked files that git does not ignore and
# that are on disk (a stowed store's files are skip-worktree entries, off the disk).
travelling_files() {
  local f
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [[ ! -f $f ]] || printf '%s\0' "$f"
  done
}

# The MiB that would travel with $CARRY; fails, naming the store and the remedy, over the limit.
travel() {
  local bytes
  bytes=$({ travelling_files; [[ ! -d $CARRY ]] || find "$CARRY" -type f -print0; } | du -cb --files0-from=- | tail -1 | cut -f1)
  echo "travel: $((bytes / 1048576)) MiB of the device tool's $LIMIT_MIB MiB (working tree and $CARRY)"
  if ((bytes > LIMIT_MIB * 1048576)); then
    local store=0
    [[ -d $STORE ]] && store=$(du -sb "$STORE" | cut -f1)
    echo "error: over the device tool's $LIMIT_MIB MiB ($STORE/ holds $((store / 1048576)) MiB):" \
      "run bench/device_study.sh stow before the call and bench/device_study.sh unstow after it" >&2
    return 1
  fi
}

# The store off the disk for the call, still in git: a sparse checkout keeps `git status` clean, and
# `git add` cannot stage its files' absence. Between stow and unstow DVC here has no remote.
stow() {
  git sparse-checkout set --no-cone '/*' "!/$STORE/" || return 1
  echo "stow: $STORE/ is off the disk, not out of git; after the call: bench/device_study.sh unstow"
  travel
}

unstow() {
  git sparse-checkout disable || return 1
  echo "unstow: $STORE/ back, $(git ls-files "$STORE" | wc -l) files"
}

prepare() {
  set -e
  rm -rf "$CARRY" && mkdir -p "$CARRY/fashion-mnist"
  local wheels
  for wheels in ${WHEELS_SCRIPT:-} ../shared/device/dvc-wheels.sh ../../shared/device/dvc-wheels.sh; do
    [[ -x $wheels ]] && break
  done  # the project's checkout sits next to shared/, a worktree one level deeper
  "$wheels" "$CARRY/whl"
  # Not imported by `dvc repro` without git (the device copy has no .git: core.no_scm): checked by
  # running this script's --cpu study with these imports made to fail (wcwidth is optional for tabulate).
  # They were 15 of the 19 MB of wheels.
  local name f
  for name in pygit2 cryptography asyncssh pydantic pydantic_core celery kombu billiard wcwidth prompt_toolkit; do
    for f in "$CARRY"/whl/"$name"-[0-9]*.whl; do rm -f "$f"; done
  done
  local src=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
  # xz instead of gzip: 30.9 MB -> 26.4 MB on the way; `run` re-gzips (the download stage checks the
  # SHA-256 of the decompressed bytes, so the archive's own bytes do not matter).
  for f in $DATA_FILES; do
    gzip -dc "$src/$f.gz" | xz -9e -T2 > "$CARRY/fashion-mnist/$f.xz"
  done
  echo "carry $CARRY: $(du -sh "$CARRY" | cut -f1) ($(ls "$CARRY"/whl/*.whl | wc -l) wheels $(du -sh "$CARRY/whl" | cut -f1)," \
    "data $(du -sh "$CARRY/fashion-mnist" | cut -f1))"
  travel
  echo "device call: run(command='bench/device_study.sh run', carry=['$CARRY'], timeout_s=560)"
}

log() { echo "[device $((SECONDS - STARTED)) s] $*" | tee -a "$OUT/steps.txt"; }

# step NAME LIMIT_S COMMAND...: run with a time limit, output to $OUT/NAME.txt as it comes, status logged.
step() {
  local name=$1 limit=$2
  shift 2
  log "$name: start (limit ${limit} s)"
  timeout --kill-after=5 "$limit" "$@" > >(tee "$OUT/$name.txt") 2>&1
  local rc=$?
  log "$name: exit $rc"
  return $rc
}

setup_device() {
  export FASHION_MNIST_DIR=/tmp/fashion-mnist
  mkdir -p "$FASHION_MNIST_DIR"
  # Python's lzma and gzip, not the xz binary, which the image may lack
  python3 -c '
import gzip, lzma, shutil, sys
for name in sys.argv[3:]:
    with lzma.open(f"{sys.argv[1]}/{name}.xz") as src, gzip.open(f"{sys.argv[2]}/{name}.gz", "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
' "$CARRY/fashion-mnist" "$FASHION_MNIST_DIR" $DATA_FILES
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$CARRY"/whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD/src:${PYTHONPATH:-} PATH=/tmp/site/bin:$PATH
  command -v python >/dev/null || ln -s "$(command -v python3)" /tmp/site/bin/python  # dvc.yaml says `python`
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
}

run() {
  local mode=$1 deadline=${DEADLINE_S:-510} steps=${STEPS:-smoke tests bench study}
  STARTED=$SECONDS SCRATCH=
  export PYTHONUNBUFFERED=1 CI=true
  if [[ $mode == cpu ]]; then  # in a scratch copy of the tracked tree: the study rewrites params.yaml and outputs
    OUT=${OUT:-$(mktemp -d)}
    local scratch
    scratch=$(mktemp -d)
    if git rev-parse --git-dir >/dev/null 2>&1; then  # what the device tool would carry
      travelling_files | xargs -0 cp --parents -t "$scratch"
    else
      cp -a . "$scratch"
    fi
    cd "$scratch" || exit 1
    SCRATCH=$scratch
    export PYTHONPATH=$PWD/src:${PYTHONPATH:-}
  fi
  : "${OUT:?run this on the device machine, where OUT is set}"
  mkdir -p "$OUT"
  trap 'pack' EXIT
  if [[ $mode == gpu ]]; then
    setup_device >> "$OUT/steps.txt" 2>&1 || log "setup failed: the steps below report what they can"
  fi
  python -c 'import torch, dvc, dvclive; print("torch", torch.__version__, "dvc", dvc.__version__)' 2>&1 | tee -a "$OUT/steps.txt"
  local cpu_flag=() profile=profiles/converged.yaml
  [[ $mode == cpu ]] && cpu_flag=(--cpu) && profile=profiles/smoke.yaml

  [[ $steps == *smoke* ]] && { step smoke 60 python bench/capture_smoke.py "${cpu_flag[@]}" || log "smoke check failed: capture does not work here"; }
  [[ $steps == *tests* ]] && step pytest-cuda 150 python -m pytest -q -m cuda tests/test_cuda.py -p no:cacheprovider
  if [[ $steps == *bench* ]]; then
    local models=()
    [[ $mode == cpu ]] && models=(--models cnn16)
    step bench-gpu 200 python bench/gpu.py "${cpu_flag[@]}" "${models[@]}" --profile "$profile" --out "$OUT/bench-gpu.tsv"
  fi
  [[ $steps == *study* ]] && study "$mode" "$profile" "$deadline"
  return 0
}

study() {
  local mode=$1 profile=$2 deadline=$3 targets=()
  python - "$profile" <<'EOF' || { log "study: profile $profile does not apply"; return 1; }
import sys
from cnnlstm.gate.profile import profiled_params, write_params
write_params(".", profiled_params("params.yaml", sys.argv[1]))
EOF
  if [[ $mode == cpu ]]; then  # the plumbing only: the proposed model's two smoke folds and its evaluation
    targets=(evaluate_hybrid)
  fi
  git rev-parse --git-dir >/dev/null 2>&1 || dvc config --local core.no_scm true
  rm -rf .dvc/cache .dvc/tmp/runs reports/timing  # an empty cache: every stage runs
  local left=$((deadline - (SECONDS - STARTED)))
  log "study: dvc repro of $profile ${targets[*]}, ${left} s left before the deadline"
  step study-log "$left" python -m cnnlstm.timed_repro --force "${targets[@]}"
}

# 8 files come back: steps.txt, 4 step logs, bench-gpu.tsv, timing.txt and the packed study.
pack() {
  local rc=$?
  log "packing (exit $rc)"
  {
    cat reports/timing/repro-*.tsv 2>/dev/null
    echo "# dvc.lock"
    cat dvc.lock 2>/dev/null
  } > "$OUT/timing.txt"
  # runs/ and results/*.json: what the stages that ran wrote (logs/train and metrics/ are their git copies,
  # made by the collect stage only when the whole pipeline ran); no weights or predictions
  tar czf "$OUT/study.tar.gz" params.yaml metrics logs/train runs results/*/*.json reports/REPORT.md reports/tables 2>/dev/null
  ls -la "$OUT"
  [[ -n ${SCRATCH:-} ]] && rm -rf "$SCRATCH"
  return 0
}

case ${1:-} in
  prepare) prepare ;;
  travel) travel ;;
  stow) stow ;;
  unstow) unstow ;;
  run) run gpu ;;
  --cpu) run cpu ;;
  *) echo "usage: $0 prepare|travel|stow|unstow|run|--cpu" >&2; exit 2 ;;
esac

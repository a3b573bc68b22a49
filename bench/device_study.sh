#!/usr/bin/env bash
# The whole GPU check in one device call: CUDA tests, bench/gpu.py, then `dvc repro` of the
# converged profile from an empty cache with per-stage timing. See docs/gpu.md.
#
#   bench/device_study.sh prepare      # here: wheels + Fashion-MNIST into .cache/device (~50 MB)
#   bench/device_study.sh run          # there, as the device command (prints it after prepare)
#
# Environment (run): DEADLINE_S (default 510: seconds from start after which the study is stopped
# and whatever finished is packed), STEPS (default "tests bench study").
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.cache/device  # .cache/ is git-ignored, so the device tool must be told to carry it

prepare() {
  rm -rf "$CARRY" && mkdir -p "$CARRY/fashion-mnist"
  ../shared/device/dvc-wheels.sh "$CARRY/whl"
  local src=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    cp "$src/$f.gz" "$CARRY/fashion-mnist/"
  done
  local tree carried
  tree=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
  carried=$(du -sb "$CARRY" | cut -f1)
  echo "carry $CARRY: $((carried / 1048576)) MiB; tracked files $((tree / 1048576)) MiB; the limit is 64 MiB in all"
  echo "device call: run(command='bench/device_study.sh run', carry=['$CARRY'], timeout_s=560)"
}

# Prints DVC's lines unchanged, and after each "Running stage" line: stage k of N, elapsed, ETA.
ETA_FILTER='
import sys, time
total, started, done = int(sys.argv[1]), time.monotonic(), 0
for line in sys.stdin:
    sys.stdout.write(line)
    if line.startswith("Running stage"):
        done += 1
        elapsed = time.monotonic() - started
        eta = f"{elapsed / (done - 1) * (total - done + 1):.0f} s" if done > 1 else "?"
        print(f"[study] stage {done}/{total}, {elapsed:.0f} s elapsed, ETA {eta}", flush=True)
'

run() {
  local started=$SECONDS deadline=${DEADLINE_S:-510} steps=${STEPS:-tests bench study}
  local out=${OUT:?run this on the device machine, where OUT is set}
  export PYTHONUNBUFFERED=1 CI=true FASHION_MNIST_DIR=$PWD/$CARRY/fashion-mnist
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$CARRY"/whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD/src:${PYTHONPATH:-} PATH=/tmp/site/bin:$PATH
  command -v python >/dev/null || ln -s "$(command -v python3)" /tmp/site/bin/python  # dvc.yaml says `python`
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python -c 'import torch, dvc, dvclive; print("torch", torch.__version__, "dvc", dvc.__version__)'
  echo "[device] ready after $((SECONDS - started)) s"

  if [[ $steps == *tests* ]]; then
    timeout 150 python -m pytest -q -m cuda tests/test_cuda.py -p no:cacheprovider 2>&1 | tee "$out/pytest-cuda.txt" || true
    echo "[device] tests done after $((SECONDS - started)) s"
  fi
  if [[ $steps == *bench* ]]; then
    timeout 200 python bench/gpu.py 2>&1 | tee "$out/bench-gpu.txt" || true
    echo "[device] bench done after $((SECONDS - started)) s"
  fi
  if [[ $steps == *study* ]]; then
    python - <<'EOF'
from cnnlstm.gate.profile import profiled_params, write_params
write_params(".", profiled_params("params.yaml", "profiles/converged.yaml"))
EOF
    git rev-parse --git-dir >/dev/null 2>&1 || dvc config --local core.no_scm true
    rm -rf .dvc/cache .dvc/tmp/runs reports/timing  # an empty cache: every stage runs
    local stages left
    stages=$(dvc stage list --name-only | wc -l)
    left=$((deadline - (SECONDS - started)))
    echo "[device] dvc repro of profiles/converged.yaml: $stages stages, ${left} s left before the deadline"
    set +o pipefail
    timeout --kill-after=5 "$left" python -m cnnlstm.timed_repro --force 2>&1 | python -c "$ETA_FILTER" "$stages" \
      | tee "$out/study-log.txt"
    set -o pipefail
    echo "[device] study stopped or done after $((SECONDS - started)) s"
  fi
  pack "$out"
}

# At most 8 files come back: the logs above (3), and these 5.
pack() {
  local out=$1
  cat reports/timing/repro-*.tsv > "$out/timing.tsv" 2>/dev/null || true
  cp dvc.lock "$out/dvc.lock" 2>/dev/null || true
  tar czf "$out/metrics.tar.gz" params.yaml metrics 2>/dev/null || true
  tar czf "$out/report.tar.gz" reports/REPORT.md reports/tables plots 2>/dev/null || true
  tar czf "$out/train-logs.tar.gz" logs/train 2>/dev/null || true
  ls -la "$out"
}

case ${1:-} in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Keep one seed-variance run for the `seeds` stage: its per-fold files, unchanged (scripts/keep_run.sh),
# in metrics/seeds/<point>/seed<train.seed>/.
# Usage: scripts/keep_seed.sh <experiment-or-revision> <point> [model ...]   (default: the models it studied)
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 <experiment-or-revision> <point> [model ...]" >&2; exit 2; fi
source=$1 point=$2
shift 2
ref=$(git for-each-ref --format='%(refname)' refs/exps | grep -E "/${source}\$" || true)
ref=${ref:-$source}
if ! git rev-parse -q --verify "$ref^{commit}" >/dev/null 2>&1; then
  echo "error: $source: no DVC experiment or git revision of that name" >&2; exit 1
fi
seed=$(git show "$ref:params.yaml" | python -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["train"]["seed"])')
exec bash "$(dirname "$0")/keep_run.sh" "$source" "metrics/seeds/$point/seed$seed" "$@"

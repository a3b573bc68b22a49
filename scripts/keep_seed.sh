#!/usr/bin/env bash
# Keep one seed-variance run for the `seeds` stage: its per-fold files, unchanged (scripts/keep_run.sh),
# in metrics/seeds/<point>/seed<train.seed>/.
# Usage: scripts/keep_seed.sh <experiment-or-revision> <point> [model ...]   (default: the models it studied)
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 <experiment-or-revision> <point> [model ...]" >&2; exit 2; fi
source=$1 point=$2
shift 2
source "$(dirname "$0")/exp_ref.sh"
ref=$(exp_ref "$source")
seed=$(git show "$ref:params.yaml" | python -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["train"]["seed"])')
exec bash "$(dirname "$0")/keep_run.sh" "$source" "metrics/seeds/$point/seed$seed" "$@"

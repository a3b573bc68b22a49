#!/usr/bin/env bash
# Keep one budget point for the `budget` stage: a finished study run's per-fold files, unchanged
# (scripts/keep_run.sh), in metrics/budgets/<point>/ (<point>: <epochs>ep or <epochs>ep-<tag>).
# Usage: scripts/keep_budget.sh <experiment-or-revision> <point> [model ...]   (default: the models it studied)
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 <experiment-or-revision> <point> [model ...]" >&2; exit 2; fi
source=$1 point=$2
shift 2
exec bash "$(dirname "$0")/keep_run.sh" "$source" "metrics/budgets/$point" "$@"

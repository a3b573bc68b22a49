#!/usr/bin/env bash
# Copy, unchanged, the per-fold files of a finished study run (a DVC experiment's name, or a git revision
# such as HEAD) into <dest>/: params.yaml, summary.json, runs/<model>/fold<k>.json (metrics/runs) and
# train/<model>/fold<k>.json (logs/train/.../run.json). Used by keep_seed.sh and keep_budget.sh.
# Usage: scripts/keep_run.sh <experiment-or-revision> <dest> [model ...]   (default: the models it studied)
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 <experiment-or-revision> <dest> [model ...]" >&2; exit 2; fi
source=$1 dest=$2
shift 2
source "$(dirname "$0")/exp_ref.sh"
ref=$(exp_ref "$source")
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  # the models that run studied; metrics/runs/ also holds files of models it did not rerun
  mapfile -t models < <(git show "$ref:metrics/summary.json" | python -c 'import json, sys; print(*json.load(sys.stdin)["models"], sep="\n")')
fi
for model in "${models[@]}"; do
  if [ -z "$(git ls-tree --name-only "$ref" "metrics/runs/$model/")" ]; then
    echo "error: $source: has no metrics/runs/$model/" >&2; exit 1
  fi
done
partial=$dest.partial
trap 'rm -rf "$partial"' EXIT  # a failed copy leaves nothing the stages could read
rm -rf "$partial"
mkdir -p "$partial"
git show "$ref:params.yaml" > "$partial/params.yaml"
git show "$ref:metrics/summary.json" > "$partial/summary.json"
for model in "${models[@]}"; do
  files=$(git ls-tree -r --name-only "$ref" "metrics/runs/$model/")
  mkdir -p "$partial/runs/$model" "$partial/train/$model"
  for file in $files; do
    fold=$(basename "$file" .json)
    git show "$ref:$file" > "$partial/runs/$model/$fold.json"
    git show "$ref:logs/train/$model/$fold/run.json" > "$partial/train/$model/$fold.json"
  done
done
rm -rf "$dest"
mv "$partial" "$dest"
echo "$dest: ${#models[@]} models (${models[*]}) from $ref"

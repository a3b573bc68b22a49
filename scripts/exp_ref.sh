# Sourced by keep_run.sh and keep_seed.sh: `exp_ref NAME` prints the commit ref of a DVC experiment of
# that name, else NAME itself as a git revision; a name that is neither, or several experiments, is a
# one-line error.
exp_ref() {
  local ref
  ref=$(git for-each-ref --format='%(refname)' refs/exps | grep -E "/${1}\$" || true)
  ref=${ref:-$1}
  if [ "$(printf '%s\n' "$ref" | wc -l)" != 1 ]; then echo "error: $1: several experiments of that name" >&2; return 1; fi
  if ! git rev-parse -q --verify "$ref^{commit}" >/dev/null 2>&1; then
    echo "error: $1: no DVC experiment or git revision of that name" >&2; return 1
  fi
  echo "$ref"
}

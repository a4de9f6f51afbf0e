#!/usr/bin/env bash
# The commands of the reconcile action: validate, plan, apply and sites.
#
# Inputs arrive as environment variables (action.yml sets them): SITES (space-separated, empty for all),
# DESIRED, STATE_DIR, FORCE, CHANGED_SINCE, MAX_JOBS, NEEDS_WORK, DRIFT_DUE_AFTER, DRIFT_EVERY, OUT_DIR;
# the reconciler reads RECONCILER_INBOX (and its token) and the eDRV settings from the environment itself. Results go to $GITHUB_OUTPUT, to the job
# summary ($GITHUB_STEP_SUMMARY) and to files in the output directory. A failed validate or plan still
# writes comment.md, saying why there is no plan, so the pull request never keeps a stale one. A failed
# apply exits 0 with its code in the `exit-code` output: the action commits what was recorded first and
# fails afterwards.
set -euo pipefail

command="${1:?usage: reconcile.sh validate|plan|apply|sites}"
out="${OUT_DIR:-}"
out="${out:-${RUNNER_TEMP:-/tmp}/reconciler}"
mkdir -p "$out"
desired="${DESIRED:-desired}"
read -r -a sites <<<"${SITES:-}"
options=(--desired "$desired")
if [ -n "${STATE_DIR:-}" ]; then options+=(--state-dir "$STATE_DIR"); fi
force=()
if [ "${FORCE:-false}" = "true" ]; then force=(--force); fi
marker='<!-- reconciler plan -->'
comment_limit=60000 # characters of error text in a comment; GitHub takes 65,536 in all

output() { printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; }
# An indented code block: no text inside it can close it or become markup.
as_code() { grep -v '^::' | sed 's/^/    /' || true; }
# At most $2 bytes of file $3, cut at a line, saying how many lines were cut: its first bytes and then its
# last line, the totals ($1 = first), or its last bytes ($1 = last). GitHub drops a step's whole summary
# when it passes 1 MiB, so each part written to it has a share: validate 850 KB; drift 300 KB (its table
# stops at 250 KB already), its errors 50 KB and apply 500 KB; an indented code block adds 4 bytes a line.
cut_to() {
  local end="$1" limit="$2" file="$3" kept cut
  if [ "$(wc -c <"$file")" -le "$limit" ]; then
    cat "$file"
    return
  fi
  if [ "$end" = first ]; then kept=$(head -c "$limit" "$file" | sed '$d'); else kept=$(tail -c "$limit" "$file" | sed '1d'); fi
  cut=$(($(wc -l <"$file") - $(printf '%s\n' "$kept" | wc -l)))
  if [ "$end" = first ]; then
    printf '%s\n\n' "$kept"
    echo "... $((cut - 1)) line(s) cut here to fit the job summary: the job's log has them all"
    tail -n 1 "$file"
  else
    echo "... $cut line(s) cut here to fit the job summary: the job's log has them all"
    printf '%s\n' "$kept"
  fi
}

# A comment that stands in for the plan: the marker (so it replaces the earlier plan), a headline, the log.
explain() {
  {
    echo "$marker"
    echo "## Charging profile plan"
    echo
    echo "$1"
    echo
    head -c "$comment_limit" "$2" | as_code
  } >"$out/comment.md"
  output comment-file "$out/comment.md"
}

validate() {
  local paths=() site suffix
  if [ "${#sites[@]}" -eq 0 ]; then paths=("$desired"); fi
  for site in "${sites[@]}"; do
    for suffix in yaml yml; do
      if [ -e "$desired/$site.$suffix" ]; then paths+=("$desired/$site.$suffix"); fi
    done
  done
  if [ "${#paths[@]}" -eq 0 ]; then
    echo "No desired file to validate for: ${sites[*]}"
    output exit-code 0
    return 0
  fi
  local code=0
  reconciler validate "${paths[@]}" >"$out/validate.txt" 2>&1 || code=$?
  cat "$out/validate.txt" # the runner turns the ::error lines into annotations on the files
  {
    echo "### reconciler validate"
    echo
    cut_to first 850000 "$out/validate.txt" | as_code
  } >>"$GITHUB_STEP_SUMMARY"
  output exit-code "$code"
  if [ "$code" -ne 0 ]; then
    explain "**Desired state has errors**, so nothing was planned (each is annotated on its line):" \
      "$out/validate.txt"
  fi
  return "$code"
}

plan() {
  local code=0
  rm -rf "$out/plan.md" "$out/plan.json" "$out/comment.md" "$out/charts"
  reconciler plan "${sites[@]}" "${options[@]}" "${force[@]}" --format markdown --detailed-exitcode \
    --out "$out/plan.json" --chart "$out/charts" >"$out/plan.md" 2>"$out/plan.err" || code=$?
  cat "$out/plan.err"
  output exit-code "$code"
  case "$code" in
    0 | 2)
      cp "$out/plan.md" "$out/comment.md"
      output comment-file "$out/comment.md"
      output markdown-file "$out/plan.md"
      output json-file "$out/plan.json"
      # SVG charts exist only for sites whose plan changes something.
      if [ -n "$(ls -A "$out/charts" 2>/dev/null)" ]; then output charts-dir "$out/charts"; fi
      if [ "$code" -eq 2 ]; then output changes true; else output changes false; fi
      ;;
    *)
      explain "**No plan**: the reconciler stopped (exit $code) with:" "$out/plan.err"
      ;;
  esac
  cat "$out/comment.md" >>"$GITHUB_STEP_SUMMARY"
  [ "$code" -eq 0 ] || [ "$code" -eq 2 ]
}

apply() {
  local code=0 drift_code=0 headline
  if [ -n "${DRIFT_EVERY:-}" ]; then
    # The stations due a check first: their heal marks make this apply send what a charger lost.
    reconciler drift "${sites[@]}" "${options[@]}" --heal --due-after "$DRIFT_EVERY" --format markdown \
      >"$out/drift.md" 2>"$out/drift.err" || drift_code=$?
    cat "$out/drift.md" "$out/drift.err"
    {
      cut_to first 300000 "$out/drift.md"
      cut_to first 50000 "$out/drift.err" | as_code
    } >>"$GITHUB_STEP_SUMMARY"
  fi
  reconciler apply "${sites[@]}" "${options[@]}" "${force[@]}" --auto-approve >"$out/apply.txt" 2>&1 || code=$?
  cat "$out/apply.txt"
  if [ "$code" -eq 0 ]; then headline="Applied"; else headline="Apply failed (exit $code)"; fi
  {
    echo "### $headline: ${sites[*]:-every site}"
    echo
    cut_to last 500000 "$out/apply.txt" | as_code
  } >>"$GITHUB_STEP_SUMMARY"
  # A station that could not be checked fails the job too, once the state is committed.
  if [ "$code" -eq 0 ] && [ "$drift_code" -ne 0 ]; then code=$drift_code; fi
  output exit-code "$code"
}

list_sites() {
  local options_json=(--format json --max-jobs "${MAX_JOBS:-256}")
  if [ -n "${CHANGED_SINCE:-}" ]; then options_json+=(--changed-since "$CHANGED_SINCE"); fi
  if [ "${NEEDS_WORK:-false}" = "true" ]; then options_json+=(--needs-work); fi
  if [ -n "${DRIFT_DUE_AFTER:-}" ]; then options_json+=(--drift-due-after "$DRIFT_DUE_AFTER"); fi
  reconciler sites "${sites[@]}" "${options[@]}" "${options_json[@]}" >"$out/sites.json"
  python - "$out/sites.json" "$GITHUB_OUTPUT" "$GITHUB_STEP_SUMMARY" "${CHANGED_SINCE:-}" <<'PY'
import json
import sys

listing, outputs, summary, since = sys.argv[1:]
with open(listing, encoding="utf-8") as f:
    document = json.load(f)
sites, jobs, work, idle = document["sites"], document["jobs"], document["work"], document["idle"]
with open(outputs, "a", encoding="utf-8") as f:
    f.write(f"sites={' '.join(sites)}\ncount={len(sites)}\n")
    f.write(f"jobs={json.dumps(jobs, separators=(',', ':'))}\n")
scope = f"changed since {since}" if since else ("that need work" if work or idle else "listed")
shown = [f"{site} ({work[site]})" if site in work else site for site in sites]
text = ", ".join(shown[:100]) + (f" and {len(shown) - 100} more" if len(shown) > 100 else "")
with open(summary, "a", encoding="utf-8") as f:
    f.write(f"### Sites {scope}: {len(sites)} in {len(jobs)} job(s)\n\n{text or 'none'}\n")
    if idle:
        f.write(f"\n{len(idle)} idle site(s) skipped: nothing to send, retire or check.\n")
PY
  cat "$out/sites.json"
}

case "$command" in
  validate) validate ;;
  plan) plan ;;
  apply) apply ;;
  sites) list_sites ;;
  *)
    echo "::error::unknown command '$command': use validate, plan, apply, sites or comment"
    exit 64
    ;;
esac

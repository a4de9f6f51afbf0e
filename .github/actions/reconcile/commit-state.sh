#!/usr/bin/env bash
# Commits the recorded state of the applied sites and pushes it to $BRANCH.
#
# Usage: commit-state.sh STATE_DIR [SITE...]   (no SITE: every state file in STATE_DIR)
#
# Only those state files are committed (never lock files or anything else in the checkout), as the
# github-actions bot, with [skip ci] so the commit starts no workflow. When the push loses a race with
# another commit to the branch (another site's job, a merge), it fetches, rebases onto it and pushes
# again: up to PUSH_ATTEMPTS times (default 5), waiting PUSH_DELAY_S (default 3) times the attempt number
# plus some jitter in between. A rebase that conflicts means someone else changed the same state file
# meanwhile; that is never resolved by guessing: the step fails and names the file.
set -euo pipefail

state_dir="${1:?usage: commit-state.sh STATE_DIR [SITE...]}"
shift
branch="${BRANCH:?BRANCH must name the branch to push to}"
attempts="${PUSH_ATTEMPTS:-5}"
delay_s="${PUSH_DELAY_S:-3}"
export GIT_AUTHOR_NAME="github-actions[bot]" GIT_COMMITTER_NAME="github-actions[bot]"
export GIT_AUTHOR_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"
export GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"

candidates=()
if [ "$#" -gt 0 ]; then
  for site in "$@"; do candidates+=("$state_dir/$site.json"); done
else
  while IFS= read -r -d '' file; do candidates+=("$file"); done < <(
    find "$state_dir" -maxdepth 1 -name '*.json' -print0 2>/dev/null
    git ls-files -z -- "$state_dir/*.json"
  )
fi
paths=()
for file in "${candidates[@]}"; do
  # A state file that exists, or one that is tracked and was deleted.
  if [ -e "$file" ] || git ls-files --error-unmatch -- "$file" >/dev/null 2>&1; then paths+=("$file"); fi
done
if [ "${#paths[@]}" -gt 0 ]; then git add --all -- "${paths[@]}"; fi
if [ "${#paths[@]}" -eq 0 ] || git diff --cached --quiet -- "${paths[@]}"; then
  echo "No recorded state changed; nothing to commit."
  echo "committed=false" >>"$GITHUB_OUTPUT"
  exit 0
fi

if [ "$#" -gt 0 ] && [ "$#" -le 3 ]; then label="$*"; else label="${#paths[@]} sites"; fi
run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/${GITHUB_RUN_ID:-}"
git commit --quiet --only -m "reconciler: record the state of $label [skip ci]" \
  -m "Recorded by $run_url" -- "${paths[@]}"

for ((attempt = 1; ; attempt++)); do
  if git push --quiet origin "HEAD:refs/heads/$branch"; then
    echo "Pushed the recorded state of $label to $branch (attempt $attempt)."
    echo "committed=true" >>"$GITHUB_OUTPUT"
    exit 0
  fi
  git fetch --quiet origin "$branch"
  if git merge-base --is-ancestor FETCH_HEAD HEAD; then
    echo "::error::could not push to $branch, and not because it moved on: see the git message above"
    exit 1
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "::error::$branch kept moving: the recorded state was not pushed after $attempts attempts"
    exit 1
  fi
  echo "$branch moved on while this job applied; rebasing onto it (attempt $attempt of $attempts)."
  sleep $((delay_s * attempt + RANDOM % (delay_s + 1)))
  git fetch --quiet origin "$branch" # once more: the wait may have let another commit in
  if ! git rebase --quiet FETCH_HEAD; then
    mapfile -t conflicted < <(git diff --name-only --diff-filter=U)
    git rebase --abort
    echo "::error::the recorded state in ${conflicted[*]:-this job} changed on $branch while this job applied it;" \
      "this job's state is in its artifact: compare the two, commit the right one, and apply again"
    exit 1
  fi
done

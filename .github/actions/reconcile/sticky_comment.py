"""Posts a plan as one pull-request comment and updates that same comment on every later run.

The earlier comment is found by the hidden marker the plan starts with and by its author, so a person
who quotes the marker is never overwritten. Before writing, the pull request's head must still be the
commit that was planned (`--head-sha`): a plan that finishes late never replaces a newer one, and a
pull-request number taken from an artifact cannot steer the comment to another pull request. All calls to
GitHub go through `gh api` in `_gh`; the rest is plain functions. Standard library only, so it runs on any
runner's python3 without installing anything.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

MARKER = "<!-- reconciler plan -->"
COMMENT_LIMIT = 65_536  # characters GitHub accepts in one comment
_CUT_NOTE = "\n\n*The comment was cut to fit GitHub's limit: the workflow's plan artifact has everything.*\n"

Gh = Callable[[Sequence[str], str | None], str]


def parse_pages(text: str) -> list[dict[str, Any]]:
    """The items of `gh api --paginate` output: one JSON array per page, written one after another."""
    decoder = json.JSONDecoder()
    items: list[dict[str, Any]] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return items
        page, position = decoder.raw_decode(text, position)
        if not isinstance(page, list):
            raise TypeError("expected a JSON array for each page of comments")
        items.extend(page)


def find_comment(comments: Sequence[dict[str, Any]], marker: str, author: str) -> int | None:
    """The id of the oldest comment by `author` whose body starts with `marker`, if any."""
    for comment in sorted(comments, key=lambda c: (str(c.get("created_at", "")), int(c["id"]))):
        login = (comment.get("user") or {}).get("login", "")
        body = str(comment.get("body") or "")
        if login.casefold() == author.casefold() and body.lstrip().startswith(marker):
            return int(comment["id"])
    return None


def prepare_body(text: str, marker: str = MARKER, limit: int = COMMENT_LIMIT) -> str:
    """The body to post: starting with `marker` (so the next run finds it) and within `limit` characters."""
    body = text if text.lstrip().startswith(marker) else f"{marker}\n{text}"
    if len(body) > limit:
        body = body[: limit - len(_CUT_NOTE)] + _CUT_NOTE
    return body


def post(
    gh: Gh,
    *,
    repo: str,
    pull_request: int,
    body: str,
    head_sha: str | None,
    author: str,
    marker: str = MARKER,
) -> str:
    """Create or update the sticky comment; return what was done ("created", "updated" or "skipped: …")."""
    if head_sha:
        pull = json.loads(gh(["api", f"repos/{repo}/pulls/{pull_request}"], None))
        current = str((pull.get("head") or {}).get("sha", ""))
        if current != head_sha:
            return (
                f"skipped: pull request #{pull_request} is at {current[:12]}, the plan is of {head_sha[:12]}"
            )
    comments = parse_pages(
        gh(["api", "--paginate", f"repos/{repo}/issues/{pull_request}/comments?per_page=100"], None)
    )
    payload = json.dumps({"body": body})
    existing = find_comment(comments, marker, author)
    if existing is None:
        gh(
            ["api", "--method", "POST", f"repos/{repo}/issues/{pull_request}/comments", "--input", "-"],
            payload,
        )
        return "created"
    gh(["api", "--method", "PATCH", f"repos/{repo}/issues/comments/{existing}", "--input", "-"], payload)
    return f"updated comment {existing}"


def _gh(args: Sequence[str], stdin: str | None) -> str:
    done = subprocess.run(  # noqa: S603 - fixed program, no shell
        ["gh", *args],  # noqa: S607 - gh from PATH, as on every GitHub-hosted runner
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"gh {' '.join(args[:3])} failed: {done.stderr.strip()}")
    return done.stdout


def main(argv: Sequence[str] | None = None, gh: Gh = _gh) -> int:
    parser = argparse.ArgumentParser(description="Post or update the sticky plan comment.")
    parser.add_argument("--repo", required=True, help="owner/name")
    parser.add_argument("--pull-request", required=True)
    parser.add_argument("--body-file", required=True, type=Path)
    parser.add_argument("--head-sha", default="")
    parser.add_argument("--author", default="github-actions[bot]")
    parser.add_argument("--marker", default=MARKER)
    args = parser.parse_args(argv)
    if not args.pull_request.isdigit():
        print("::error::the pull request number is not a number", file=sys.stderr)
        return 1
    body = prepare_body(args.body_file.read_text(encoding="utf-8"), args.marker)
    try:
        done = post(
            gh,
            repo=args.repo,
            pull_request=int(args.pull_request),
            body=body,
            head_sha=args.head_sha or None,
            author=args.author,
            marker=args.marker,
        )
    except (RuntimeError, TypeError, ValueError) as err:  # a refused call, or an answer not understood
        print(f"::error::{err}", file=sys.stderr)
        return 1
    print(f"Plan comment on #{args.pull_request}: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

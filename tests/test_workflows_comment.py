"""The sticky plan comment: finding the earlier one, one per pull request, and no stale plans."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import ROOT

SCRIPT = ROOT / ".github" / "actions" / "reconcile" / "sticky_comment.py"
BOT = "github-actions[bot]"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sticky_comment", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sticky = _load()
MARKER: str = sticky.MARKER


def _comment(
    comment_id: int, body: str, login: str = BOT, at: str = "2026-11-01T00:00:00Z"
) -> dict[str, Any]:
    return {"id": comment_id, "body": body, "user": {"login": login}, "created_at": at}


class FakeGh:
    """GitHub's REST API for one pull request, as `gh api` answers it (pages of two comments)."""

    def __init__(self, comments: list[dict[str, Any]], head_sha: str = "abc123") -> None:
        self.comments = comments
        self.head_sha = head_sha
        self.writes: list[tuple[str, str, str]] = []

    def __call__(self, args: Sequence[str], stdin: str | None) -> str:
        method = args[args.index("--method") + 1] if "--method" in args else "GET"
        path = next(a for a in args if a.startswith("repos/"))
        if method == "GET" and "/pulls/" in path:
            return json.dumps({"number": 7, "head": {"sha": self.head_sha}})
        if method == "GET":
            pages = [self.comments[i : i + 2] for i in range(0, len(self.comments), 2)] or [[]]
            return "".join(json.dumps(page) + "\n" for page in pages)
        assert stdin is not None
        self.writes.append((method, path, json.loads(stdin)["body"]))
        return "{}"


def test_paginated_output_is_read_as_one_list() -> None:
    """`gh api --paginate` prints one array per page back to back; every comment of every page is read."""
    text = '[{"id": 1}, {"id": 2}]\n[{"id": 3}]  \n[]'
    assert [c["id"] for c in sticky.parse_pages(text)] == [1, 2, 3]
    assert sticky.parse_pages("") == []


def test_the_earlier_comment_is_found_by_marker_and_author() -> None:
    """Only the bot's own comment that starts with the marker counts; the oldest wins if there are two."""
    comments = [
        _comment(5, f"{MARKER}\nnewer", at="2026-11-02T00:00:00Z"),
        _comment(3, f"> {MARKER}\nquoting the plan", login="operator"),
        _comment(4, f"{MARKER}\nwritten by a person", login="operator"),
        _comment(2, f"a reply that mentions {MARKER}"),
        _comment(9, f"\n{MARKER}\nolder", at="2026-11-01T00:00:00Z"),
    ]
    assert sticky.find_comment(comments, MARKER, BOT) == 9
    assert sticky.find_comment(comments[1:4], MARKER, BOT) is None


def test_a_body_without_the_marker_gets_it_and_a_long_one_is_cut() -> None:
    """Whatever the artifact holds, the posted body starts with the marker and fits GitHub's limit."""
    assert sticky.prepare_body("plan").startswith(f"{MARKER}\nplan")
    body = sticky.prepare_body(MARKER + "x" * 100_000)
    assert len(body) <= sticky.COMMENT_LIMIT
    assert body.startswith(MARKER)
    assert body.endswith("has everything.*\n")


def test_the_first_run_creates_the_comment_and_later_runs_edit_it() -> None:
    """A pull request keeps exactly one plan comment: created once, then edited in place."""
    gh = FakeGh([_comment(1, "looks good", login="reviewer"), _comment(2, "thanks", login="author")])
    done = sticky.post(gh, repo="o/r", pull_request=7, body=f"{MARKER}\nv1", head_sha="abc123", author=BOT)
    assert done == "created"
    assert gh.writes == [("POST", "repos/o/r/issues/7/comments", f"{MARKER}\nv1")]
    gh.comments.append(_comment(40, f"{MARKER}\nv1"))
    done = sticky.post(gh, repo="o/r", pull_request=7, body=f"{MARKER}\nv2", head_sha="abc123", author=BOT)
    assert done == "updated comment 40"
    assert gh.writes[-1] == ("PATCH", "repos/o/r/issues/comments/40", f"{MARKER}\nv2")


def test_a_plan_of_an_older_head_is_not_posted() -> None:
    """When the pull request has moved on, the late plan is dropped and nothing is written."""
    gh = FakeGh([], head_sha="newer0000000")
    done = sticky.post(gh, repo="o/r", pull_request=7, body=MARKER, head_sha="older0000000", author=BOT)
    assert done.startswith("skipped")
    assert gh.writes == []


def test_the_command_line_refuses_a_pull_request_that_is_not_a_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A number read from an artifact is checked before it reaches an API path."""
    body = tmp_path / "comment.md"
    body.write_text(MARKER)
    gh = FakeGh([])
    argv = ["--repo", "o/r", "--pull-request", "7/../../x", "--body-file", str(body)]
    assert sticky.main(argv, gh=gh) == 1
    assert gh.writes == []
    assert "not a number" in capsys.readouterr().err


def test_the_command_line_turns_a_failed_api_call_into_an_annotation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused call (say, a read-only token) is one ::error line and exit 1, not a traceback."""
    body = tmp_path / "comment.md"
    body.write_text(MARKER)

    def refusing(args: Sequence[str], stdin: str | None) -> str:
        raise RuntimeError("gh api repos/o/r/issues/7/comments failed: HTTP 403")

    argv = ["--repo", "o/r", "--pull-request", "7", "--body-file", str(body)]
    assert sticky.main(argv, gh=refusing) == 1
    assert "::error::gh api repos/o/r/issues/7/comments failed: HTTP 403" in capsys.readouterr().err

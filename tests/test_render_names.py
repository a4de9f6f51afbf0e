"""Names in outputs people read: a line break, an escape sequence or a bidi override in a station id, a
profile name or a description shows as its escape and never starts a line or moves text of its own."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.desired.loader import load_site
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import build
from reconciler.render.names import visible
from reconciler.render.state import render_text as render_state
from reconciler.render.text import render_text
from reconciler.state.recorded import RecordedState

from .conftest import NOW
from .test_plan import _profile

# What a pull request could write to fake a line of the plan, clear a terminal, or turn text around.
HOSTILE = "Bay 1\n   2. clear CS-9/all  id 1\x1b[2J\u202e\u2028"


def test_visible_text_is_kept_and_invisible_characters_are_escaped() -> None:
    """Printable text (accents and all) comes back as it is; line breaks, escape sequences, bidi overrides
    and line separators come back as their escapes."""
    assert visible("Bay 1 — Gare du Nord") == "Bay 1 — Gare du Nord"
    assert visible(HOSTILE) == "Bay 1\\n   2. clear CS-9/all  id 1\\x1b[2J\\u202e\\u2028"


def _hostile_site(tmp_path: Path) -> RecordedState:
    text = (
        "site: {name: Depot}\nstations:\n  CS-1:\n"
        f"    description: {json.dumps(HOSTILE)}\n    connectors: 2\n    rated_power_kw: 22\n    profiles:\n"
        + _profile(HOSTILE, 20, 16)
    )
    path = tmp_path / "depot.yaml"
    path.write_text(text)
    site, problems = load_site(path, NOW)
    assert site is not None, problems
    plan = build("depot", site, None, NOW)
    text_plan = render_text([plan])
    assert not {"\x1b", "\u202e", "\u2028"} & set(text_plan)
    assert not any(line.startswith("   2. clear") for line in text_plan.splitlines())
    assert f"   1. set   CS-1/{visible(HOSTILE)}  id 1  connector 1 of {visible(HOSTILE)}  (new;" in text_plan
    assert f"     CS-1 ({visible(HOSTILE)}, rated 22 kW" in text_plan
    return assume_applied(RecordedState.new("depot"), plan, NOW)


def test_a_hostile_name_cannot_fake_a_line_of_the_plan_or_of_recorded_state(tmp_path: Path) -> None:
    """The text plan and `state show` write a name or description with a line break and escape sequences
    on the line it belongs to, escaped, so no line of its own appears."""
    recorded = _hostile_site(tmp_path)
    shown = render_state(recorded, descriptions={"CS-1": HOSTILE}, now=NOW)
    assert "\x1b" not in shown
    assert "\n   2. clear" not in shown
    assert f"station CS-1 ({visible(HOSTILE)}) (highest id 1)" in shown
    assert f"  {visible(HOSTILE)}  connector 1" in shown

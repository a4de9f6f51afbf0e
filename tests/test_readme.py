"""The README's YAML examples, extracted and validated as an operator would paste them: a whole site file
as it is, a station's `ocpp:` block into a station, profiles into a station's `profiles`."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.desired.loader import load_site
from reconciler.desired.yamlread import parse

from .conftest import NOW, ROOT

_BLOCKS = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
_STATION = {"description": "README example", "connectors": 2, "rated_power_kw": 22}
_SITE = {"name": "README example", "timezone": "Europe/Berlin"}


def _as_site_file(block: str) -> str:
    """The example as a whole site file: as written when it is one, else placed where it belongs."""
    text = textwrap.dedent(block)
    fragment: Any = parse(text)
    assert isinstance(fragment, dict), "every YAML example of the README is a mapping"
    if "site" in fragment:
        return text
    station = {**_STATION, **fragment} if set(fragment) == {"ocpp"} else {**_STATION, "profiles": fragment}
    return yaml.safe_dump({"site": _SITE, "stations": {"CS-1": station}}, sort_keys=False)


def test_the_readme_has_a_whole_site_example() -> None:
    """The README shows at least one whole site file, with its editor modeline."""
    whole = [b for b in _BLOCKS if "site" in parse(textwrap.dedent(b))]
    assert whole
    assert whole[0].startswith("# yaml-language-server: $schema=")


@pytest.mark.parametrize("block", _BLOCKS, ids=lambda b: b.strip().splitlines()[0][:40])
def test_every_readme_yaml_example_validates(block: str, tmp_path: Path) -> None:
    """Each YAML example of the README, placed in a site file where it belongs, validates with no error and
    no warning."""
    path = tmp_path / "example.yaml"
    path.write_text(_as_site_file(block), encoding="utf-8")
    site, problems = load_site(path, NOW)
    assert problems == [], "\n".join(map(str, problems))
    assert site is not None

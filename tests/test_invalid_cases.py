"""Named bad inputs: each file under tests/cases/invalid declares, in its header, what validation must report.

A case file begins with comment lines, read until the first line that is not a comment:

    # expect: <error|warning> <line>:<column> <text>
    # allow-other-warnings
    # xfail: <reason>

Each `expect` line must be met by its own reported problem with that severity, line and column, whose
text contains <text>; the text searched is the message followed by ` (fix: <fix>)` when there is a fix,
as `reconciler validate` prints it, so a case can pin the "did you mean" hint too. Line and column are
1-based; `0:0` is a problem about the whole file. No other error may be reported, nor any other
warning unless the file says `allow-other-warnings`. `xfail` marks a case whose expectation is the
correct behaviour that the reconciler does not show yet (strict: it fails once the bug is fixed).
Files under tests/cases/valid use the same header (only `xfail` makes sense there) and must report nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.desired.loader import load_site
from reconciler.errors import Problem, Severity
from reconciler.ocpp.profile import format_timestamp

from .conftest import NOW

CASES = Path(__file__).resolve().parent / "cases"
NOW_ARG = format_timestamp(NOW)
EXIT_OK, EXIT_ERROR = 0, 1  # the documented exit codes of reconciler.cli.main
_EXPECT = re.compile(r"# expect: (?P<severity>error|warning) (?P<line>\d+):(?P<column>\d+) (?P<text>\S.*)")


@dataclass(frozen=True, slots=True)
class Expected:
    """One problem a case file declares."""

    severity: Severity
    line: int
    column: int
    text: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.severity}: ...{self.text}..."

    def met_by(self, problem: Problem) -> bool:
        return (
            problem.severity is self.severity
            and (problem.line, problem.column) == (self.line, self.column)
            and self.text in _text(problem)
        )


@dataclass(frozen=True, slots=True)
class Case:
    """A case file and what its header declares."""

    path: Path
    expected: tuple[Expected, ...]
    allow_other_warnings: bool
    xfail: str | None


def read_case(path: Path) -> Case:
    """Parse the header of a case file; a malformed `expect` line is an error, never skipped."""
    expected: list[Expected] = []
    allow_other_warnings = False
    xfail: str | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        if not line.startswith("#"):
            break
        if line.startswith("# expect"):
            match = _EXPECT.fullmatch(line)
            if match is None:
                raise ValueError(f"{path.name}: malformed header line {line!r}")
            expected.append(
                Expected(Severity(match["severity"]), int(match["line"]), int(match["column"]), match["text"])
            )
        elif line == "# allow-other-warnings":
            allow_other_warnings = True
        elif line.startswith("# xfail:"):
            xfail = line.removeprefix("# xfail:").strip()
    return Case(path, tuple(expected), allow_other_warnings, xfail)


def _text(problem: Problem) -> str:
    return f"{problem.message} (fix: {problem.fix})" if problem.fix else problem.message


def _params(kind: str) -> list[Any]:
    params = []
    for path in sorted((CASES / kind).glob("*.yaml")):
        case = read_case(path)
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        params.append(pytest.param(case, id=path.stem, marks=marks))
    return params


def _unmet(case: Case, problems: list[Problem]) -> tuple[list[Expected], list[Problem]]:
    """The expectations no problem meets, and the problems no expectation accounts for."""
    left = list(problems)
    missing = []
    for expected in case.expected:
        match = next((p for p in left if expected.met_by(p)), None)
        if match is None:
            missing.append(expected)
        else:
            left.remove(match)
    unexpected = [p for p in left if p.is_error or not case.allow_other_warnings]
    return missing, unexpected


def _report(missing: list[Expected], unexpected: list[Problem], problems: list[Problem]) -> str:
    lines = ["expected but not reported:", *(f"  {e}" for e in missing)]
    lines += ["reported but not expected:", *(f"  {p}" for p in unexpected)]
    lines += ["everything reported:", *(f"  {p}" for p in problems)]
    return "\n".join(lines)


@pytest.mark.parametrize("case", _params("invalid"))
def test_invalid_case_reports_exactly_its_declared_problems(case: Case) -> None:
    """Each invalid case file reports every declared problem at its line and column, and no other error."""
    assert case.expected, f"{case.path.name} declares no '# expect:' line"
    site, problems = load_site(case.path, NOW)
    missing, unexpected = _unmet(case, problems)
    assert (missing, unexpected) == ([], []), _report(missing, unexpected, problems)
    if any(p.is_error for p in problems):
        assert site is None, "a site with errors must not be returned for planning"


@pytest.mark.parametrize("case", _params("valid"))
def test_valid_case_reports_no_problem(case: Case) -> None:
    """Each valid case file loads into a site with no error and no warning."""
    site, problems = load_site(case.path, NOW)
    assert problems == [], _report([], problems, problems)
    assert site is not None
    assert site.site_id == case.path.stem


def test_case_headers_are_well_formed() -> None:
    """Every case file's header parses, and only invalid cases declare problems."""
    for path in sorted(p for folder in ("invalid", "valid") for p in (CASES / folder).glob("*.yaml")):
        case = read_case(path)
        assert bool(case.expected) == (path.parent.name == "invalid"), path.name


def _validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    # Imported here so that the case tests above do not depend on the rest of the command line.
    from reconciler.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["validate", *args, "--now", NOW_ARG])
    out, _ = capsys.readouterr()
    code = exited.value.code
    assert isinstance(code, int)
    return code, out


def test_validate_annotates_errors_for_github_actions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under GitHub Actions, `validate` prints an `::error file=,line=,col=::` annotation and exits 1."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    path = CASES / "invalid" / "stack-level-reserved.yaml"
    (expected,) = read_case(path).expected
    code, out = _validate(capsys, str(path))
    assert code == EXIT_ERROR
    prefix = f"::error file={path},line={expected.line},col={expected.column}::"
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert len(annotations) == 1, out
    assert annotations[0].startswith(prefix), out
    assert expected.text in annotations[0]


def test_strict_fails_on_warnings_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file with only warnings passes `validate` (exit 0) but fails `validate --strict` (exit 1)."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    path = CASES / "invalid" / "limit-below-6-amps.yaml"
    assert all(e.severity is Severity.WARNING for e in read_case(path).expected)
    code, out = _validate(capsys, str(path))
    assert code == EXIT_OK
    assert "warning:" in out
    assert _validate(capsys, str(path), "--strict")[0] == EXIT_ERROR


@pytest.mark.parametrize(
    ("placed_on", "named"),
    [
        ("all", "all 12 stations"),
        ("[S0, S1, S2, S3, S4, S5, S6]", "7 stations: S0, S1, S2, S3, S4 and 2 more"),
        ("[S3, S7]", "stations S3, S7"),
    ],
)
def test_a_finding_of_a_template_on_many_stations_is_one_line_naming_a_few(
    tmp_path: Path, placed_on: str, named: str
) -> None:
    """A template's finding is reported once, naming its stations, or a few of them once there are many."""
    stations = "".join(f"  S{i}: {{connectors: 1, rated_power_kw: 22}}\n" for i in range(12))
    path = tmp_path / "depot.yaml"
    path.write_text(
        "site: {name: Depot}\ntemplates:\n  low:\n"
        f"    stations: {placed_on}\n"
        "    profile: {connectorId: 0, stackLevel: 5, chargingProfilePurpose: TxDefaultProfile, "
        "chargingProfileKind: Relative, chargingSchedule: {chargingRateUnit: A, "
        "chargingSchedulePeriod: [{startPeriod: 0, limit: 16}]}}\n"
        f"stations:\n{stations}"
    )
    _, problems = load_site(path, NOW)
    assert [p.message.rpartition(" (placed by the template on ")[2] for p in problems] == [f"{named})"]

"""A small local runner for this repository's GitHub Actions workflows, so that tests execute their steps.

It evaluates `${{ }}` expressions (contexts, literals, operators, and the functions the workflows use),
runs each `run:` step with bash the way GitHub does, gives every step the files GitHub gives it
(`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH`, `GITHUB_STEP_SUMMARY`), expands local composite actions
(`uses: ./…`) into their steps with their inputs and outputs, and hands every other `uses:` to a handler
the test supplies (checkout, artifacts), failing on an action it was given no handler for. It runs one
job at a time; the test strings jobs together through `needs` and expands matrices with `matrix_of`.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STEP_TIMEOUT_S = 180
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(ValueError):
    """An expression this runner cannot read."""


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow or action file; PyYAML reads the key `on` as True, so it is put back."""
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in document:
        document["on"] = document.pop(True)
    return document


# --- expressions -------------------------------------------------------------------------------------


def to_text(value: Any) -> str:
    """An expression's value as GitHub writes it into a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return str(value)


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip() or "0")
        except ValueError:
            return float("nan")
    return float("nan")


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) or (isinstance(left, dict | list) and isinstance(right, dict | list)):
        return bool(left == right)
    return _number(left) == _number(right)


class _Parser:
    def __init__(
        self, text: str, context: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]
    ) -> None:
        self.tokens = self._tokenise(text)
        self.position = 0
        self.context = context
        self.functions = {name.casefold(): f for name, f in functions.items()}

    @staticmethod
    def _tokenise(text: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise ExpressionError(f"cannot read {text[position:]!r}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            position = match.end()
        return tokens

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if value is not None and token[1] != value:
            raise ExpressionError(f"expected {value!r}, found {token[1]!r}")
        self.position += 1
        return token

    def parse(self) -> Any:
        value = self.either()
        if self.peek()[0] != "end":
            raise ExpressionError(f"unexpected {self.peek()[1]!r}")
        return value

    def either(self) -> Any:
        value = self.both()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.both()
            value = value if _truthy(value) else right
        return value

    def both(self) -> Any:
        value = self.equality()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.equality()
            value = right if _truthy(value) else value
        return value

    def equality(self) -> Any:
        value = self.comparison()
        while self.peek()[1] in ("==", "!=") and self.peek()[0] == "op":
            operator = self.take()[1]
            equal = _equal(value, self.comparison())
            value = equal if operator == "==" else not equal
        return value

    def comparison(self) -> Any:
        value = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("<", "<=", ">", ">="):
            operator = self.take()[1]
            left, right = _number(value), _number(self.unary())
            value = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator]
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not _truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while self.peek()[0] == "op" and self.peek()[1] in (".", "["):
            if self.take()[1] == ".":
                key: Any = self.take()[1]
            else:
                key = self.either()
                self.take("]")
            value = _index(value, key)
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return float(text)
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "op" and text == "(":
            value = self.either()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        if self.peek() == ("op", "("):
            self.take()
            arguments = []
            while self.peek() != ("op", ")"):
                arguments.append(self.either())
                if self.peek() == ("op", ","):
                    self.take()
            self.take(")")
            if text.casefold() not in self.functions:
                raise ExpressionError(f"unknown function {text}()")
            return self.functions[text.casefold()](*arguments)
        literals = {"true": True, "false": False, "null": None}
        if text in literals:
            return literals[text]
        if text not in self.context:
            raise ExpressionError(f"unknown context {text!r}")
        return self.context[text]


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        if isinstance(key, str):
            for name, item in value.items():
                if str(name).casefold() == key.casefold():
                    return item
        return None
    if isinstance(value, list) and isinstance(key, float | int) and 0 <= int(key) < len(value):
        return value[int(key)]
    return None


def _format(template: str, *arguments: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: to_text(arguments[int(m.group(1))]), template)


BASE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": lambda haystack, needle: (
        any(_equal(item, needle) for item in haystack)
        if isinstance(haystack, list)
        else to_text(needle).casefold() in to_text(haystack).casefold()
    ),
    "startsWith": lambda text, prefix: to_text(text).casefold().startswith(to_text(prefix).casefold()),
    "endsWith": lambda text, suffix: to_text(text).casefold().endswith(to_text(suffix).casefold()),
    "format": _format,
    "join": lambda items, separator=",": (
        to_text(separator).join(to_text(i) for i in items) if isinstance(items, list) else to_text(items)
    ),
    "toJSON": lambda value: json.dumps(value, indent=2),
    "fromJSON": lambda text: json.loads(to_text(text)),
}


def evaluate(text: str, context: Mapping[str, Any], status: str = "success") -> Any:
    """The value of one expression (without the `${{ }}`); `status` is the job's so far."""
    functions = dict(BASE_FUNCTIONS)
    functions |= {
        "success": lambda: status == "success",
        "failure": lambda: status == "failure",
        "always": lambda: True,
        "cancelled": lambda: False,
    }
    return _Parser(text, context, functions).parse()


def interpolate(value: Any, context: Mapping[str, Any], status: str = "success") -> Any:
    """A YAML value with its `${{ }}` replaced; a string that is one whole expression keeps its type."""
    if isinstance(value, dict):
        return {key: interpolate(item, context, status) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, context, status) for item in value]
    if not isinstance(value, str):
        return value
    whole = _EXPRESSION.fullmatch(value.strip()) if value.count("${{") == 1 else None
    if whole:
        return evaluate(whole.group(1), context, status)
    return _EXPRESSION.sub(lambda m: to_text(evaluate(m.group(1), context, status)), value)


def condition(text: Any, context: Mapping[str, Any], status: str) -> bool:
    """An `if:`; without a status function in it, GitHub adds `success() &&`."""
    if text is None:
        return status == "success"
    if isinstance(text, bool):
        return text and status == "success"
    source = str(text).strip()
    whole = _EXPRESSION.fullmatch(source) if source.count("${{") == 1 else None
    if whole:
        source = whole.group(1)
    if not re.search(r"\b(success|failure|always|cancelled)\(", source):
        source = f"success() && ({source})"
    return _truthy(evaluate(source, context, status))


# --- running jobs --------------------------------------------------------------------------------------


class StepFailedError(RuntimeError):
    """Raised by a `uses:` handler when its action fails."""


@dataclass
class StepResult:
    name: str
    id: str | None
    outcome: str  # success, failure or skipped
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class JobResult:
    status: str
    steps: list[StepResult]
    outputs: dict[str, Any]
    summary: str
    workspace: Path

    @property
    def log(self) -> str:
        return "".join(step.log for step in self.steps)

    def step(self, name: str) -> StepResult:
        """The first step (composite steps included) whose id or name is `name`."""
        for step in self.steps:
            if name in (step.id, step.name):
                return step
        raise KeyError(f"no step {name!r}; steps: {[s.name for s in self.steps]}")


@dataclass
class ActionCall:
    """What a `uses:` handler gets."""

    action: str
    inputs: dict[str, str]
    env: dict[str, str]
    workspace: Path
    runner_temp: Path


Handler = Callable[[ActionCall], Mapping[str, str] | None]


@dataclass
class Runner:
    """Runs jobs of workflows; `github`, `secrets` and `vars` are the contexts the test controls.

    `environments` holds each deployment environment's own secrets: as on GitHub, a job sees them only
    when its `environment:` names that environment, on top of the repository's `secrets`.
    """

    github: dict[str, Any]
    handlers: Mapping[str, Handler]
    base_env: dict[str, str]
    temp_root: Path
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    before_step: Callable[[str], None] | None = None
    environments: dict[str, dict[str, str]] = field(default_factory=dict)
    _jobs_run: int = 0

    def secrets_of(self, job: Mapping[str, Any]) -> dict[str, str]:
        """The secrets a job can read: the repository's, and its environment's when it names one."""
        environment = job.get("environment")
        name = environment.get("name") if isinstance(environment, dict) else environment
        return self.secrets | (self.environments.get(str(name), {}) if name else {})

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "github": self.github,
            "secrets": self.secrets,
            "vars": self.variables,
            "inputs": self.inputs,
            "env": {},
            "matrix": {},
            "needs": {},
            "steps": {},
            "runner": {},
            "strategy": {},
            "job": {},
        } | extra

    def matrix_of(self, job: Mapping[str, Any], needs: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The matrix entries of a job whose matrix is a list under `include` (the form used here)."""
        matrix = (job.get("strategy") or {}).get("matrix")
        if matrix is None:
            return [{}]
        expanded = interpolate(matrix, self.context(needs=needs))
        include = expanded.get("include", []) if isinstance(expanded, dict) else []
        if not isinstance(include, list) or not include:
            raise ExpressionError("a matrix needs at least one entry")
        return [dict(entry) for entry in include]

    def job_runs(self, job: Mapping[str, Any], needs: Mapping[str, Any]) -> bool:
        """Whether the job's `if:` lets it run, given the jobs it needs."""
        status = "success" if all(n.get("result") == "success" for n in needs.values()) else "failure"
        return condition(job.get("if"), self.context(needs=needs), status)

    def run_job(
        self,
        workflow: Mapping[str, Any],
        job_id: str,
        workspace: Path,
        *,
        matrix: Mapping[str, Any] | None = None,
        needs: Mapping[str, Any] | None = None,
    ) -> JobResult:
        """Run one job's steps in `workspace` (created empty if missing; checkout fills it)."""
        self._jobs_run += 1
        job = workflow["jobs"][job_id]
        workspace.mkdir(parents=True, exist_ok=True)
        temp = self.temp_root / f"job-{self._jobs_run}"
        temp.mkdir(parents=True)
        state = _JobState(
            workspace=workspace,
            temp=temp,
            env=dict(self.base_env) | self._github_env(workspace, temp),
            context=self.context(
                matrix=dict(matrix or {}),
                needs=dict(needs or {}),
                runner={"temp": str(temp), "os": "Linux", "arch": "X64"},
                secrets=self.secrets_of(job),
            ),
        )
        for scope in (workflow.get("env") or {}, job.get("env") or {}):
            state.env |= {k: to_text(interpolate(v, state.context)) for k, v in scope.items()}
        default_shell = ((job.get("defaults") or {}).get("run") or {}).get("shell")
        self._run_steps(job.get("steps") or [], state, default_shell=default_shell)
        outputs = {
            name: to_text(interpolate(value, state.context, state.status))
            for name, value in (job.get("outputs") or {}).items()
        }
        return JobResult(state.status, state.results, outputs, "".join(state.summaries), workspace)

    def _github_env(self, workspace: Path, temp: Path) -> dict[str, str]:
        event_path = temp / "event.json"
        event_path.write_text(json.dumps(self.github.get("event", {})), encoding="utf-8")
        self.github["workspace"] = str(workspace)
        return {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_EVENT_NAME": str(self.github.get("event_name", "")),
            "GITHUB_REPOSITORY": str(self.github.get("repository", "")),
            "GITHUB_REF": str(self.github.get("ref", "")),
            "GITHUB_REF_NAME": str(self.github.get("ref_name", "")),
            "GITHUB_SHA": str(self.github.get("sha", "")),
            "GITHUB_RUN_ID": str(self.github.get("run_id", "")),
            "GITHUB_SERVER_URL": str(self.github.get("server_url", "")),
            "RUNNER_TEMP": str(temp),
            "RUNNER_OS": "Linux",
        }

    def _run_steps(
        self,
        steps: list[dict[str, Any]],
        state: _JobState,
        *,
        default_shell: str | None = None,
        action_path: Path | None = None,
    ) -> None:
        for index, step in enumerate(steps):
            step_id = step.get("id")
            context = state.context | {"env": dict(state.env)}
            if action_path is not None:
                context["github"] = context["github"] | {"action_path": str(action_path)}
            name = to_text(
                interpolate(step.get("name") or step_id or step.get("uses") or f"step {index + 1}", context)
            )
            if not condition(step.get("if"), context, state.status):
                state.record(StepResult(name, step_id, "skipped"))
                continue
            if self.before_step is not None:
                self.before_step(str(step_id or name))
            env = dict(state.env)
            env |= {
                k: to_text(interpolate(v, context, state.status)) for k, v in (step.get("env") or {}).items()
            }
            if action_path is not None:
                env["GITHUB_ACTION_PATH"] = str(action_path)
            frame = _Frame(name, step_id, env, context)
            if "run" in step:
                result = self._run_script(step, frame, state, default_shell)
            else:
                result = self._use(step, frame, state)
            state.record(result)
            if result.outcome == "failure" and not step.get("continue-on-error"):
                state.status = "failure"

    def _run_script(
        self, step: Mapping[str, Any], frame: _Frame, state: _JobState, default_shell: str | None
    ) -> StepResult:
        name, step_id, env, context = frame.name, frame.step_id, frame.env, frame.context
        files = {key: state.temp / f"{key.lower()}-{len(state.results)}" for key in _STEP_FILES}
        for path in files.values():
            path.write_text("", encoding="utf-8")
        script = state.temp / f"script-{len(state.results)}.sh"
        script.write_text(to_text(interpolate(step["run"], context, state.status)), encoding="utf-8")
        shell = step.get("shell") or default_shell
        argv = (
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
            if shell == "bash"
            else ["bash", "-e", str(script)]
        )
        directory = state.workspace / str(interpolate(step.get("working-directory", "."), context))
        done = subprocess.run(
            argv,
            cwd=directory,
            env=env | {key: str(path) for key, path in files.items()},
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
            check=False,
        )
        outputs = _read_pairs(files["GITHUB_OUTPUT"])
        exported = _read_pairs(files["GITHUB_ENV"])
        state.env |= exported
        state.exported |= exported
        for entry in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines():
            if entry.strip():
                state.env["PATH"] = f"{entry.strip()}{os.pathsep}{state.env.get('PATH', '')}"
        state.summaries.append(files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8"))
        log = f"--- {name} (exit {done.returncode})\n{done.stdout}{done.stderr}"
        return StepResult(name, step_id, "success" if done.returncode == 0 else "failure", outputs, log)

    def _use(self, step: Mapping[str, Any], frame: _Frame, state: _JobState) -> StepResult:
        name, step_id, env, context = frame.name, frame.step_id, frame.env, frame.context
        action = str(step["uses"])
        given = {k: to_text(v) for k, v in interpolate(step.get("with") or {}, context, state.status).items()}
        if action.startswith("./"):
            return self._composite(state.workspace / action, frame, given, state)
        handler = self.handlers[action.partition("@")[0]]
        try:
            outputs = handler(ActionCall(action, given, env, state.workspace, state.temp)) or {}
        except StepFailedError as failed:
            return StepResult(name, step_id, "failure", log=f"--- {name}: {failed}\n")
        return StepResult(name, step_id, "success", dict(outputs), f"--- {name}\n")

    def _composite(self, path: Path, frame: _Frame, given: dict[str, str], state: _JobState) -> StepResult:
        name, step_id, env = frame.name, frame.step_id, frame.env
        action = load_workflow(path / "action.yml")
        declared = action.get("inputs") or {}
        unknown = set(given) - set(declared)
        if unknown:
            raise ExpressionError(f"{path}: no such inputs {sorted(unknown)}")
        outer_context = state.context | {"env": env}
        inputs = {
            key: given[key] if key in given else to_text(interpolate(spec.get("default", ""), outer_context))
            for key, spec in declared.items()
        }
        inner = _JobState(
            workspace=state.workspace,
            temp=state.temp,
            env=dict(env),
            context=state.context | {"inputs": inputs, "steps": {}},
            summaries=state.summaries,
        )
        start = len(inner.results)
        self._run_steps(action["runs"]["steps"], inner, action_path=path.resolve())
        state.results.extend(inner.results[start:])
        # What the composite wrote to GITHUB_ENV stays for the caller's later steps, as on GitHub.
        state.env |= inner.exported
        state.exported |= inner.exported
        outputs = {
            key: to_text(interpolate(spec.get("value", ""), inner.context, inner.status))
            for key, spec in (action.get("outputs") or {}).items()
        }
        return StepResult(name, step_id, inner.status, outputs, "")


@dataclass(frozen=True)
class _Frame:
    """One step about to run: its name and id, its environment and the contexts it sees."""

    name: str
    step_id: str | None
    env: dict[str, str]
    context: Mapping[str, Any]


_STEP_FILES = ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")


@dataclass
class _JobState:
    workspace: Path
    temp: Path
    env: dict[str, str]
    context: dict[str, Any]
    status: str = "success"
    results: list[StepResult] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    exported: dict[str, str] = field(default_factory=dict)

    def record(self, result: StepResult) -> None:
        self.results.append(result)
        if result.id:
            self.context["steps"][result.id] = {
                "outputs": result.outputs,
                "outcome": result.outcome,
                "conclusion": result.outcome,
            }


def _read_pairs(path: Path) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks, as GitHub reads GITHUB_OUTPUT and GITHUB_ENV."""
    pairs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, _, delimiter = line.partition("<<")
            block = []
            for body in lines:
                if body == delimiter:
                    break
                block.append(body)
            pairs[name] = "\n".join(block)
        elif "=" in line:
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs

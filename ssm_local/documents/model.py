"""The document model: frozen dataclasses built from loaded document data.

``Document`` holds the parsed text, the kind (Command, Automation or Other), the schemaVersion,
parameter definitions and the steps. Command 1.2 ``runtimeConfig`` plugins become steps named by
their ``id``, so every later stage sees one shape. Automation step properties are normalised the
way AWS reads them (ssm-semantics.md §5.1): ``"true"``/``"false"`` strings are booleans,
``maxAttempts: 0`` means 1, ``onFailure: ""`` means Abort, ``isCritical`` defaults to false under
``onFailure: Continue``. Steps inside ``aws:loop`` keep their parent's name. Building the model
never raises for shape problems: the schemas report those, and the model takes what it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from ssm_local.documents.loader import Format, LoadedText, Locator, Path

Kind = Literal["Command", "Automation", "Other"]


@dataclass(frozen=True, slots=True)
class ParameterDefinition:
    """One entry of a document's ``parameters`` map, as written."""

    name: str
    type: str
    description: str | None
    default: Any
    has_default: bool
    allowed_values: tuple[Any, ...] | None
    allowed_pattern: str | None
    min_items: int | None
    max_items: int | None
    min_chars: int | None
    max_chars: int | None
    interpolation_type: str | None
    path: Path


@dataclass(frozen=True, slots=True)
class OutputDefinition:
    """A declared Automation step output: ``{Name, Selector, Type}``."""

    name: str
    selector: str
    type: str
    path: Path


@dataclass(frozen=True, slots=True)
class Step:
    """One step: a Command plugin or an Automation action, with its control-flow properties."""

    name: str
    action: str
    inputs: dict[str, Any]
    path: Path
    index: int
    parent: str | None = None
    description: str | None = None
    precondition: Any = None
    max_attempts: int = 1
    timeout_seconds: int | None = None
    on_failure: str = "Abort"
    on_cancel: str = "Abort"
    is_critical: bool = True
    is_end: bool = False
    next_step: str | None = None
    outputs: tuple[OutputDefinition, ...] = ()
    steps: tuple[Step, ...] = ()
    """Inner steps of an ``aws:loop``."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def inputs_path(self) -> Path:
        return (*self.path, "inputs") if "inputs" in self.raw else (*self.path,)


@dataclass(frozen=True, slots=True)
class VariableDefinition:
    """A runbook variable (``variables``), read as ``{{ variable:Name }}``."""

    name: str
    type: str
    default: Any
    has_default: bool
    path: Path


@dataclass(frozen=True)
class Document:
    """A loaded SSM document. ``data`` is the plain parsed content."""

    source: str
    format: Format
    text: str
    data: dict[str, Any]
    kind: Kind
    schema_version: str | None
    description: str | None
    parameters: dict[str, ParameterDefinition]
    steps: tuple[Step, ...]
    outputs: tuple[str, ...]
    variables: dict[str, VariableDefinition]
    assume_role: str | None
    locator: Locator = field(repr=False, compare=False)
    loaded: LoadedText = field(repr=False, compare=False)

    def all_steps(self) -> list[Step]:
        """Every step, loop bodies included, in document order."""
        found: list[Step] = []
        stack = list(reversed(self.steps))
        while stack:
            step = stack.pop()
            found.append(step)
            stack.extend(reversed(step.steps))
        return found

    @cached_property
    def _steps_by_name(self) -> dict[str, Step]:
        found: dict[str, Step] = {}
        for candidate in self.all_steps():
            found.setdefault(candidate.name, candidate)
        return found

    def step(self, name: str) -> Step | None:
        """The first step called ``name`` (loop bodies included), or None."""
        return self._steps_by_name.get(name)

    @cached_property
    def _following(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        stack: list[tuple[Step, ...]] = [self.steps]
        while stack:
            siblings = stack.pop()
            for position, step in enumerate(siblings):
                following = siblings[position + 1].name if position + 1 < len(siblings) else None
                found.setdefault(step.name, following)
                if step.steps:
                    stack.append(step.steps)
        return found

    def following(self, name: str) -> str | None:
        """The step after ``name`` in its list (the runbook's, or its loop's), or None."""
        return self._following.get(name)


def truthy(value: Any, default: bool) -> bool:
    """AWS's reading of a boolean field: booleans or the strings "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return default


def as_int(value: Any) -> int | None:
    """An integer field that real documents also write as a string; None if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _parameter(name: str, raw: Any, path: Path) -> ParameterDefinition:
    raw = raw if isinstance(raw, dict) else {}
    allowed = raw.get("allowedValues")
    return ParameterDefinition(
        name=name,
        type=str(raw.get("type", "")),
        description=raw.get("description") if isinstance(raw.get("description"), str) else None,
        default=raw.get("default"),
        has_default=raw.get("default") is not None,
        allowed_values=tuple(allowed) if isinstance(allowed, list) else None,
        allowed_pattern=raw.get("allowedPattern")
        if isinstance(raw.get("allowedPattern"), str)
        else None,
        min_items=as_int(raw.get("minItems")),
        max_items=as_int(raw.get("maxItems")),
        min_chars=as_int(raw.get("minChars")),
        max_chars=as_int(raw.get("maxChars")),
        interpolation_type=raw.get("interpolationType")
        if isinstance(raw.get("interpolationType"), str)
        else None,
        path=path,
    )


def _outputs(raw: Any, path: Path) -> tuple[OutputDefinition, ...]:
    if not isinstance(raw, list):
        return ()
    outputs = []
    for index, item in enumerate(raw):
        if isinstance(item, dict) and isinstance(item.get("Name"), str):
            outputs.append(
                OutputDefinition(
                    name=item["Name"],
                    selector=str(item.get("Selector", "")),
                    type=str(item.get("Type", "String")),
                    path=(*path, index),
                )
            )
    return tuple(outputs)


def _automation_step(raw: dict[str, Any], path: Path, index: int, parent: str | None) -> Step:
    on_failure = raw.get("onFailure")
    on_failure = on_failure.strip() if isinstance(on_failure, str) and on_failure.strip() else "Abort"
    on_cancel = raw.get("onCancel")
    on_cancel = on_cancel.strip() if isinstance(on_cancel, str) and on_cancel.strip() else "Abort"
    max_attempts = as_int(raw.get("maxAttempts"))
    raw_inputs = raw.get("inputs")
    inputs: dict[str, Any] = raw_inputs if isinstance(raw_inputs, dict) else {}
    action = str(raw.get("action", ""))
    inner: tuple[Step, ...] = ()
    name = str(raw.get("name", f"step{index}"))
    if action == "aws:loop" and isinstance(inputs.get("Steps"), list):
        inner = tuple(
            _automation_step(s, (*path, "inputs", "Steps", i), i, name)
            for i, s in enumerate(inputs["Steps"])
            if isinstance(s, dict)
        )
    next_step = raw.get("nextStep")
    return Step(
        name=name,
        action=action,
        inputs=inputs,
        path=path,
        index=index,
        parent=parent,
        description=raw.get("description") if isinstance(raw.get("description"), str) else None,
        max_attempts=max(max_attempts, 1) if max_attempts is not None else 1,
        timeout_seconds=as_int(raw.get("timeoutSeconds")),
        on_failure=on_failure,
        on_cancel=on_cancel,
        is_critical=truthy(raw.get("isCritical"), on_failure != "Continue"),
        is_end=truthy(raw.get("isEnd"), False),
        next_step=next_step if isinstance(next_step, str) and next_step else None,
        outputs=_outputs(raw.get("outputs"), (*path, "outputs")),
        steps=inner,
        raw=raw,
    )


def _command_steps(data: dict[str, Any], version: str) -> tuple[Step, ...]:
    steps: list[Step] = []
    if version == "1.2":
        config = data.get("runtimeConfig")
        if not isinstance(config, dict):
            return ()
        for plugin, body in config.items():
            if not isinstance(body, dict):
                continue
            key = "properties" if "properties" in body else "Properties"
            props = body.get(key)
            items = props if isinstance(props, list) else [props] if isinstance(props, dict) else []
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    continue
                item_path: Path = (
                    ("runtimeConfig", plugin, key, i)
                    if isinstance(props, list)
                    else ("runtimeConfig", plugin, key)
                )
                inputs = {k: v for k, v in item.items() if k != "id"}
                steps.append(
                    Step(
                        name=str(item.get("id", f"{len(steps)}.{plugin}")),
                        action=plugin,
                        inputs=inputs,
                        path=item_path,
                        index=len(steps),
                        raw={"inputs": inputs},
                    )
                )
        return tuple(steps)
    main = data.get("mainSteps")
    if not isinstance(main, list):
        return ()
    for index, raw in enumerate(main):
        if not isinstance(raw, dict):
            continue
        raw_inputs = raw.get("inputs")
        inputs = raw_inputs if isinstance(raw_inputs, dict) else {}
        steps.append(
            Step(
                name=str(raw.get("name", f"step{index}")),
                action=str(raw.get("action", "")),
                inputs=inputs,
                path=("mainSteps", index),
                index=index,
                description=raw.get("description")
                if isinstance(raw.get("description"), str)
                else None,
                precondition=raw.get("precondition"),
                raw=raw,
            )
        )
    return tuple(steps)


def build_document(loaded: LoadedText, kind: Kind, version: str | None) -> Document:
    """Build the model from loaded data once its kind and schemaVersion are known."""
    data = loaded.data
    raw_params = data.get("parameters")
    parameters = (
        {
            name: _parameter(name, raw, ("parameters", name))
            for name, raw in raw_params.items()
        }
        if isinstance(raw_params, dict)
        else {}
    )
    steps: tuple[Step, ...] = ()
    variables: dict[str, VariableDefinition] = {}
    outputs: tuple[str, ...] = ()
    if kind == "Command" and version is not None:
        steps = _command_steps(data, version)
    elif kind == "Automation":
        main = data.get("mainSteps")
        if isinstance(main, list):
            steps = tuple(
                _automation_step(raw, ("mainSteps", i), i, None)
                for i, raw in enumerate(main)
                if isinstance(raw, dict)
            )
        raw_vars = data.get("variables")
        if isinstance(raw_vars, dict):
            for name, raw in raw_vars.items():
                raw = raw if isinstance(raw, dict) else {}
                variables[name] = VariableDefinition(
                    name, str(raw.get("type", "")), raw.get("default"), "default" in raw,
                    ("variables", name),
                )
        raw_outputs = data.get("outputs")
        if isinstance(raw_outputs, list):
            outputs = tuple(str(o) for o in raw_outputs)
    description = data.get("description")
    assume_role = data.get("assumeRole")
    return Document(
        source=loaded.source,
        format=loaded.format,
        text=loaded.text,
        data=data,
        kind=kind,
        schema_version=version,
        description=description if isinstance(description, str) else None,
        parameters=parameters,
        steps=steps,
        outputs=outputs,
        variables=variables,
        assume_role=assume_role if isinstance(assume_role, str) else None,
        locator=loaded.locator,
        loaded=loaded,
    )

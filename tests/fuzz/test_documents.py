"""Fuzzing the document loader and validator: JSON and YAML text, YAML with anchors, aliases
and merge keys, deep nesting, huge integers and odd Unicode. Only ``SsmLocalError`` may come out,
and every document loads or fails within the example deadline."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ssm_local import documents
from ssm_local.documents.loader import Locator, load_text
from ssm_local.grammar.errors import SsmLocalError

FUZZ = settings(settings.get_profile("ssm-local-fuzz"))

ODD_TEXT = st.text(
    st.characters(codec=None) | st.sampled_from(
        ["\ud800", "\udcff", "\ufeff", "\x00", "\u202e", "\u0301", "é", "中", "😀", "\r"]),
    max_size=12,
) | st.sampled_from(["{{", "}}", "{{ Message }}", "{{ssm:/a}}", "<<"])
HUGE_INTS = st.integers(min_value=4290, max_value=4400).map(lambda n: f"<INT{n}>")
"""A marker for an integer of n digits, written into the text after dumping (Python itself
cannot turn such an integer into text)."""
SCALARS = (st.none() | st.booleans() | st.integers() | HUGE_INTS
           | st.floats(allow_nan=True, allow_infinity=True) | ODD_TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ODD_TEXT, children, max_size=4),
    max_leaves=20,
)
BASE = {"schemaVersion": "2.2", "description": "d",
        "mainSteps": [{"action": "aws:runShellScript", "name": "a",
                       "inputs": {"runCommand": ["echo {{ Message }}"]}}],
        "parameters": {"Message": {"type": "String", "default": "hi"}}}


def _only_project_errors(text: str | bytes, source: str) -> None:
    try:
        loaded = load_text(text, source=source)
    except SsmLocalError:
        return
    loaded.locator.locate(("mainSteps", 0, "inputs"))  # the locator answers or raises ours
    _, diagnostics = documents.check(text, source=source)
    assert all(d.code and d.message for d in diagnostics)


def _huge(text: str) -> str:
    return re.sub(r'"<INT(\d+)>"', lambda m: "-" * (int(m[1]) % 2) + "9" * int(m[1]), text)


def _dump_json(value: Any) -> str:
    return _huge(json.dumps(value, ensure_ascii=False))


@FUZZ
@given(VALUES, st.sampled_from(["x.json", "x.yaml", "x"]))
def test_json_text(value: Any, source: str) -> None:
    text = _dump_json(value)
    try:
        _only_project_errors(text, source)
        _only_project_errors(text.encode("utf-8", "surrogatepass"), source)
    except SsmLocalError:
        pass


@FUZZ
@given(st.data())
def test_base_document_with_a_member_replaced(data: st.DataObject) -> None:
    doc = json.loads(json.dumps(BASE))
    step = doc["mainSteps"][0]
    target = data.draw(st.sampled_from([doc, step, step["inputs"], doc["parameters"]["Message"]]))
    key = data.draw(st.sampled_from(sorted(target)) | ODD_TEXT)
    target[key] = data.draw(VALUES)
    fmt = data.draw(st.sampled_from(["json", "yaml"]))
    try:
        text = _dump_json(doc) if fmt == "json" else yaml.safe_dump(doc, allow_unicode=True)
        text = re.sub(r"'<INT(\d+)>'", lambda m: "9" * int(m[1]), text)
    except (ValueError, yaml.YAMLError):
        return
    _only_project_errors(text, f"doc.{fmt}")


def _yaml_text(draw: st.DrawFn) -> str:
    """YAML built from anchors, aliases, merge keys and nesting, valid or not."""
    lines: list[str] = []
    anchors: list[str] = []
    for index in range(draw(st.integers(1, 8))):
        name = f"k{index}"
        kind = draw(st.sampled_from(["scalar", "flow", "alias", "merge", "list", "deep", "int"]))
        if kind == "scalar":
            lines.append(f"{name}: &a{index} {json.dumps(draw(ODD_TEXT))}")
            anchors.append(f"a{index}")
        elif kind == "flow":
            refs = ", ".join(f"*{a}" for a in draw(st.lists(st.sampled_from(anchors or ["x"]),
                                                            max_size=6)))
            lines.append(f"{name}: &a{index} [{refs}]")
            anchors.append(f"a{index}")
        elif kind == "alias":
            lines.append(f"{name}: *{draw(st.sampled_from(anchors or ['a0', 'nope']))}")
        elif kind == "merge":
            bases = draw(st.lists(st.sampled_from(anchors or ["a0"]), min_size=1, max_size=3))
            lines.append(f"{name}: &a{index} {{<<: [{', '.join('*' + b for b in bases)}], "
                         f"m{index}: [*{bases[0]}, *{bases[-1]}]}}")
            anchors.append(f"a{index}")
        elif kind == "list":
            lines.append(f"{name}: &a{index}\n  - {{x: 1}}\n  - [*{anchors[-1] if anchors else 'z'}]")
            anchors.append(f"a{index}")
        elif kind == "deep":
            depth = draw(st.integers(1, 1200))
            lines.append(f"{name}: {'[' * depth}1{']' * depth}")
        else:
            lines.append(f"{name}: {'-' if draw(st.booleans()) else ''}"
                         f"{draw(st.sampled_from(['0x', '0o', '']))}{'7' * draw(st.integers(1, 4500))}")
    if draw(st.booleans()):  # a self-reference
        lines.append(f"r: &r [*r, {{<<: *{anchors[0] if anchors else 'r'}}}]")
    return "\n".join(lines) + "\n"


@FUZZ
@given(st.data())
def test_yaml_with_anchors_aliases_merge_keys_and_nesting(data: st.DataObject) -> None:
    text = data.draw(st.composite(lambda draw: _yaml_text(draw))())
    _only_project_errors(text, "fuzz.yaml")
    with contextlib.suppress(SsmLocalError):
        Locator(text, "YAML", "fuzz.yaml").locate(("k0",))


@FUZZ
@given(st.recursive(SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(ODD_TEXT, c, max_size=3),
                    max_leaves=12))
def test_yaml_dump_with_shared_nodes(value: Any) -> None:
    shared = [value, value, {"again": value}]  # yaml.dump writes repeated objects as &id / *id
    try:
        text = yaml.safe_dump({"schemaVersion": "2.2", "x": shared}, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return
    _only_project_errors(text, "shared.yaml")


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_random_content(content: str | bytes) -> None:
    _only_project_errors(content, "random")

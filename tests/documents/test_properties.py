"""Property tests: mutated real documents and random text only ever produce ssm-local's own
diagnostics, never a traceback or a hang."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssm_local import documents
from tests.conftest import CORPUS

SEEDS = [
    "ceshihao__ssm-public-documents/AWS-RunShellScript.json",
    "ceshihao__ssm-public-documents/AWS-RemediateSSMAgentVPCEndpoints.json",
    "ceshihao__ssm-public-documents/AWS-UpdateLinuxAmi.json",
    "ceshihao__ssm-public-documents/AWS-RunPatchBaselineWithHooks.json",
    "aws__amazon-ssm-agent/sampleVersion1_2.json",
]


def _seeds() -> list[dict[str, Any]]:
    found = []
    for name in SEEDS:
        path = CORPUS / name
        if path.is_file():
            found.append(json.loads(path.read_text(encoding="utf-8")))
    if not found:  # the corpus is absent: mutate the bundled documents instead
        from ssm_local.documents import library

        found = [json.loads(library.read(n)) for n in library.names()]
    return found


SEED_DOCS = _seeds()
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    | st.sampled_from(["{{", "}}", "{{ x }}", "step:nowhere", "aws:loop", "aws:branch", "0.3"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6),
                                                                      children, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_documents_give_only_diagnostics(data: st.DataObject) -> None:
    seed = json.loads(json.dumps(data.draw(st.sampled_from(SEED_DOCS))))
    for _ in range(data.draw(st.integers(1, 4))):
        paths = _paths(seed)
        path = data.draw(st.sampled_from(paths))
        seed = _set(seed, path, data.draw(junk))
    fmt = data.draw(st.sampled_from(["json", "yaml"]))
    if fmt == "json":
        text = json.dumps(seed)
    else:
        import yaml

        text = yaml.safe_dump(seed)
    _, diagnostics = documents.check(text, source=f"mutated.{fmt}")
    for diagnostic in diagnostics:
        assert diagnostic.code and diagnostic.message


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_gives_only_diagnostics(text: str) -> None:
    _, diagnostics = documents.check(text, source="random")
    assert all(d.code for d in diagnostics)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_give_only_diagnostics(content: bytes) -> None:
    _, diagnostics = documents.check(content, source="random")
    assert all(d.code for d in diagnostics)

"""The step graph: a networkx ``DiGraph`` of a document's steps with labelled control-flow edges.

Validation (cycles, unreachable steps, which outputs a step can read) and ``ssm-local graph`` use
the same graph. Nodes are step names with the step's action; each edge carries the list of ways
control passes along it: ``next`` (``nextStep`` or the next step in the list), ``choice N`` and
``default`` for ``aws:branch``, ``no match`` when a branch without ``Default`` falls through (see
docs/decisions.md), ``onFailure`` and ``onCancel`` for ``step:X`` targets, and ``loop`` from an
``aws:loop`` step into its first inner step. The iteration back edge of a loop is not an edge,
so an acyclic runbook has an acyclic graph. Command documents are a simple chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ssm_local.documents.model import Document, Step

if TYPE_CHECKING:  # networkx loads with the first graph: Command documents never need one
    import networkx as nx

EdgeKind = Literal["next", "choice", "default", "no match", "onFailure", "onCancel", "loop"]


@dataclass(frozen=True, slots=True)
class Edge:
    """One way control passes from a step to another."""

    kind: EdgeKind
    label: str


def step_target(value: str | None) -> str | None:
    """``step:Name`` → ``Name``; anything else (Abort, Continue, empty) → None."""
    if isinstance(value, str) and value.strip().startswith("step:"):
        return value.strip()[5:].strip()
    return None


def _add(graph: nx.DiGraph, src: str, dst: str, edge: Edge) -> None:
    if graph.has_edge(src, dst):
        edges: list[Edge] = graph.edges[src, dst]["edges"]
        if edge not in edges:
            edges.append(edge)
    else:
        graph.add_edge(src, dst, edges=[edge])


def _branch_edges(graph: nx.DiGraph, step: Step, fallthrough: str | None) -> None:
    choices = step.inputs.get("Choices")
    if isinstance(choices, list):
        for number, choice in enumerate(choices, 1):
            if isinstance(choice, dict) and isinstance(choice.get("NextStep"), str):
                _add(graph, step.name, choice["NextStep"], Edge("choice", f"choice {number}"))
    default = step.inputs.get("Default")
    if isinstance(default, str) and default:
        _add(graph, step.name, default, Edge("default", "default"))
    elif fallthrough is not None and not step.is_end:
        _add(graph, step.name, fallthrough, Edge("no match", "no match"))


def _sequence(graph: nx.DiGraph, steps: tuple[Step, ...]) -> None:
    for position, step in enumerate(steps):
        graph.add_node(step.name, action=step.action, parent=step.parent)
        following = steps[position + 1].name if position + 1 < len(steps) else None
        if step.action == "aws:branch":
            _branch_edges(graph, step, following)
        elif not step.is_end:
            target = step.next_step or following
            if target is not None:
                _add(graph, step.name, target, Edge("next", "next"))
        if (target := step_target(step.on_failure)) is not None:
            _add(graph, step.name, target, Edge("onFailure", "onFailure"))
        if (target := step_target(step.on_cancel)) is not None:
            _add(graph, step.name, target, Edge("onCancel", "onCancel"))
        if step.steps:
            _sequence(graph, step.steps)
            _add(graph, step.name, step.steps[0].name, Edge("loop", "loop"))


def build_graph(document: Document) -> nx.DiGraph:
    """The step graph of ``document``. Edges may name steps that do not exist (validation
    reports those); such targets appear as nodes without an ``action``."""
    import networkx as nx

    graph = nx.DiGraph()
    if document.kind == "Automation":
        _sequence(graph, document.steps)
    else:
        for position, step in enumerate(document.steps):
            graph.add_node(step.name, action=step.action, parent=None)
            if position + 1 < len(document.steps):
                _add(graph, step.name, document.steps[position + 1].name, Edge("next", "next"))
    return graph


def entry_step(document: Document) -> str | None:
    return document.steps[0].name if document.steps else None


def loop_members(document: Document) -> dict[str, set[str]]:
    """For each ``aws:loop`` step, the names of every step nested inside it."""
    members: dict[str, set[str]] = {}
    for step in document.all_steps():
        if step.steps:
            inner: set[str] = set()
            stack = list(step.steps)
            while stack:
                child = stack.pop()
                inner.add(child.name)
                stack.extend(child.steps)
            members[step.name] = inner
    return members


def _label(edges: list[Edge]) -> str:
    return ", ".join(e.label for e in edges)


def to_text(graph: nx.DiGraph) -> str:
    """One line per edge: ``a --next--> b``; steps without edges on their own line."""
    lines = []
    for node in graph.nodes:
        out = list(graph.out_edges(node, data=True))
        if not out and graph.in_degree(node) == 0:
            lines.append(f"{node}")
        for src, dst, data in out:
            lines.append(f"{src} --{_label(data['edges'])}--> {dst}")
    return "\n".join(lines) + "\n"


def _mermaid_id(name: str) -> str:
    return "s_" + "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)


def to_mermaid(graph: nx.DiGraph) -> str:
    """A Mermaid ``flowchart TD``; inner loop steps are drawn inside a subgraph."""
    lines = ["flowchart TD"]
    parents: dict[str, list[str]] = {}
    for node, data in graph.nodes(data=True):
        action = data.get("action") or "missing step"
        label = f"{node}<br/><small>{action}</small>".replace('"', "'")
        definition = f'    {_mermaid_id(node)}["{label}"]'
        parent = data.get("parent")
        if parent:
            parents.setdefault(parent, []).append(definition)
        else:
            lines.append(definition)
    for parent, defs in parents.items():
        lines.append(f"    subgraph {_mermaid_id(parent)}_body [{parent} loop]")
        lines.extend("    " + d for d in defs)
        lines.append("    end")
    for src, dst, data in graph.edges(data=True):
        kinds = {e.kind for e in data["edges"]}
        arrow = "-.->" if kinds <= {"onFailure", "onCancel"} else "-->"
        lines.append(f"    {_mermaid_id(src)} {arrow}|{_label(data['edges'])}| {_mermaid_id(dst)}")
    return "\n".join(lines) + "\n"


def to_dot(graph: nx.DiGraph) -> str:
    """Graphviz DOT; failure and cancel edges are dashed."""
    lines = ["digraph steps {", "  node [shape=box];"]
    for node, data in graph.nodes(data=True):
        action = data.get("action") or "missing step"
        lines.append(f"  {json.dumps(node)} [label={json.dumps(node + chr(10) + action)}];")
    for src, dst, data in graph.edges(data=True):
        kinds = {e.kind for e in data["edges"]}
        style = ", style=dashed" if kinds <= {"onFailure", "onCancel"} else ""
        lines.append(
            f"  {json.dumps(src)} -> {json.dumps(dst)} [label={json.dumps(_label(data['edges']))}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"

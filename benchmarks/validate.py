"""Benchmark: ``ssm_local.documents.check`` over every corpus document against a parse-and-schema floor.

Run ``python benchmarks/validate.py``. Each round validates every Command/Automation document in
``../shared/corpus`` with ssm-local (load, schemas, semantic checks, graph), and then runs the
floor on the same bytes: the plain parse (``json.loads`` or PyYAML's C loader) plus one
``jsonschema`` validation against the document's top-level schema. It prints documents per second
for both (median of the rounds) and the ratio. Targets: >= 500 documents/s, <= 3x the floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ssm_local import documents  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
SCHEMA_FILES = {
    "0.3": "automation-0.3.json",
    "1.2": "command-1.2.json",
    "2.0": "command-2.0.json",
    "2.2": "command-2.2.json",
}


def corpus() -> list[tuple[str, bytes, str]]:
    rows = (CORPUS / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    found = []
    for row in rows:
        name, version, kind = row.split("\t")[0], row.split("\t")[4], row.split("\t")[5]
        if kind in ("Command", "Automation"):
            found.append((name, (CORPUS / name).read_bytes(), version))
    return found


def floor_validators() -> dict[str, jsonschema.protocols.Validator]:
    schemas = ROOT / "ssm_local" / "documents" / "schemas"
    registry_docs = {p.name: json.loads(p.read_text()) for p in schemas.glob("*.json")}
    from referencing import Registry, Resource

    registry = Registry().with_resources(
        (doc.get("$id", name), Resource.from_contents(doc)) for name, doc in registry_docs.items()
    )
    validators = {}
    for version, file in SCHEMA_FILES.items():
        schema = registry_docs[file]
        cls = jsonschema.validators.validator_for(schema)
        validators[version] = cls(schema, registry=registry)
    return validators


def run_ours(docs: list[tuple[str, bytes, str]]) -> float:
    start = time.perf_counter()
    for name, content, _ in docs:
        documents.check(content, source=name)
    return time.perf_counter() - start


def run_floor(docs: list[tuple[str, bytes, str]],
              validators: dict[str, jsonschema.protocols.Validator]) -> float:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    start = time.perf_counter()
    for name, content, version in docs:
        if name.endswith(".json"):
            data = json.loads(content)
        else:
            data = yaml.load(content, Loader=loader)
        for _ in validators[version].iter_errors(data):
            pass
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"the shared corpus is not at {CORPUS}; nothing to measure")
        return 0
    docs = corpus()
    validators = floor_validators()
    run_ours(docs)  # warm caches and build parsers once, as a long-running process would
    run_floor(docs, validators)
    ours, floor = [], []
    for _ in range(args.rounds):
        ours.append(run_ours(docs))
        floor.append(run_floor(docs, validators))
    ours_rate = len(docs) / statistics.median(ours)
    floor_rate = len(docs) / statistics.median(floor)
    cold = len(docs) / max(ours)
    print(f"documents: {len(docs)} Command/Automation documents from the corpus, {args.rounds} rounds")
    print(f"ssm-local validate : {ours_rate:8.0f} documents/s (median; slowest round {cold:.0f}/s)")
    print(f"floor (parse+schema): {floor_rate:8.0f} documents/s (median)")
    print(f"ratio ssm-local / floor time: {floor_rate / ours_rate:.2f}x (target <= 3x); "
          f"target >= 500 documents/s: {'met' if ours_rate >= 500 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The shared corpus: every real Command and Automation document validates without errors, and
every known-invalid document fails for the reason NOTES.md gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssm_local import documents
from tests.conftest import CORPUS, CORPUS_INVALID, corpus_dir, corpus_invalid_dir

OVER_64_KB = {
    # AWS-owned documents whose content is over AWS's 64 KB CreateDocument limit even as
    # compact JSON: AWS publishes and runs them, but a user could not create them. Validating
    # the file warns; checking it as CreateDocument does (create=True) refuses it.
    "ceshihao__ssm-public-documents/AWS-ApplyChefRecipes.json",
    "ceshihao__ssm-public-documents/AWS-RunPatchBaseline.json",
    "ceshihao__ssm-public-documents/AWS-RunPatchBaselineAssociation.json",
}

INVALID_REASONS = {
    "aws__amazon-ssm-agent/schemaVersion9999.json": "UnsupportedSchemaVersion",
    "aws__amazon-ssm-agent/sampleMessageWithInvalidParamPrecondition.json": "InvalidPrecondition",
    "aws__amazon-ssm-agent/sampleMessageWithSsmParamPrecondition.json": "InvalidPrecondition",
    "aws__amazon-ssm-agent/sampleMessageWithSecureSsmParamPrecondition.json": "InvalidPrecondition",
    "aws__amazon-ssm-agent/sampleMessageWithTwoParamsPrecondition.json": "InvalidPrecondition",
    "aws__amazon-ssm-agent/cwdocument_invalid_format1.json": None,  # any schema error
    "awslabs__aws-systems-manager/ASGChangeStandbyState__Design__schema.json": None,
}


def _index() -> list[tuple[str, str, str]]:
    if not CORPUS.is_dir():
        return []
    rows = (CORPUS / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [(r.split("\t")[0], r.split("\t")[4], r.split("\t")[5]) for r in rows if r.strip()]


@pytest.mark.parametrize(("name", "version", "kind"), _index() or [("absent", "", "")])
def test_corpus_document_is_valid(name: str, version: str, kind: str) -> None:
    root = corpus_dir()
    document, diagnostics = documents.check((root / name).read_bytes(), source=name)
    errors = [d.format_text() for d in diagnostics if d.is_error]
    assert document is not None, errors
    assert document.kind == kind
    assert document.schema_version == version
    assert errors == []
    warned = "MaxDocumentSizeExceeded" in [d.code for d in diagnostics if not d.is_error]
    assert warned == (name in OVER_64_KB)
    if name in OVER_64_KB:
        _, as_created = documents.check((root / name).read_bytes(), source=name, create=True)
        assert [d.code for d in as_created if d.is_error] == ["MaxDocumentSizeExceeded"]


def _invalid_files() -> list[str]:
    if not CORPUS_INVALID.is_dir():
        return []
    return [entry["file"] for entry in json.loads((CORPUS_INVALID / "INDEX.json").read_text())]


def test_invalid_index_is_covered() -> None:
    root = corpus_invalid_dir()
    listed = {entry["file"] for entry in json.loads((root / "INDEX.json").read_text())}
    assert listed == set(INVALID_REASONS)


@pytest.mark.parametrize("name", _invalid_files() or ["absent"])
def test_invalid_corpus_document_fails(name: str) -> None:
    root = corpus_invalid_dir()
    path: Path = root / name
    _, diagnostics = documents.check(path.read_bytes(), source=name)
    codes = [d.code for d in diagnostics if d.is_error]
    assert codes, f"{name} should be invalid"
    expected = INVALID_REASONS[name]
    if expected is not None:
        assert expected in codes

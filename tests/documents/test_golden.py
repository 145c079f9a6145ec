"""Golden invalid documents: each file's diagnostics (line, column, severity, code) are fixed.

Every ``tests/documents/golden/NAME.{yaml,json}`` sits beside ``NAME.expected``, one
``line:column severity CODE`` per diagnostic in the order ``validate`` reports them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ssm_local import documents

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if p.suffix in (".yaml", ".json"))


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_golden(path: Path) -> None:
    expected = [
        line.strip()
        for line in path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    _, diagnostics = documents.check(path.read_bytes(), source=path.name)
    got = [f"{d.line}:{d.column} {d.severity} {d.code}" for d in diagnostics]
    assert got == expected
    assert all(d.source == path.name and d.message for d in diagnostics)


def test_every_check_has_a_golden_document() -> None:
    codes = {
        line.split()[-1]
        for path in GOLDEN.glob("*.expected")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    required = {
        "DocumentSyntaxError", "DuplicateKey", "EmptyDocument", "DocumentNotAnObject",
        "DuplicateStepName", "UnknownStepTarget", "StepCycle", "UnreachableStep",
        "UndeclaredParameter", "UnknownStepOutput", "OutputNotAvailable", "UndeclaredVariable",
        "UnknownGlobalVariable", "UnknownAutomationVariable", "SsmReferenceInStepInput",
        "InvalidParameterDefault", "DefaultFailsValidation", "InvalidAllowedPattern",
        "InvalidParameterType", "PreconditionNotSupported", "InvalidPrecondition",
        "IsEndWithNextStep", "UnknownDocumentOutput", "InvalidBranchChoice", "InvalidLoop",
        "InvalidUpdateVariable", "TemplateSyntaxError", "UnsupportedOnCancel", "PseudoParameter",
        "UnsupportedDefaultReference", "SecureStringNotAllowed", "UnsupportedReference",
    }
    assert required - codes == set()

"""Shared fixtures: where the shared corpus lives, skipping with a message when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
CORPUS_INVALID = SHARED / "corpus-invalid"


def corpus_dir() -> Path:
    """The shared corpus, or a skip explaining where it was looked for."""
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}; these tests read it from ../shared")
    return CORPUS


def corpus_invalid_dir() -> Path:
    if not CORPUS_INVALID.is_dir():
        pytest.skip(f"the invalid corpus is not at {CORPUS_INVALID}; these tests read ../shared")
    return CORPUS_INVALID

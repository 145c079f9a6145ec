"""Shared fixtures: where the shared corpus lives (skipping with a message when it is absent), and
one moto server for the whole test session (the stand-in for the AWS services runbooks call)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

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


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The URL of moto's HTTP server on 127.0.0.1, started once per test session; tests that use
    it reset it first (``POST /moto-api/reset``)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()

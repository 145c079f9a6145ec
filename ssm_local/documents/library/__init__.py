"""Documents that ship with ssm-local, written for it, under the names of AWS-owned documents.

``names()`` lists them, ``read(name)`` returns a document's text and ``path(name)`` its file
inside the installed package. The registry presents them as AWS-owned documents and the CLI
accepts their names wherever a document path is expected.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_SUFFIXES = (".json", ".yaml")


def _files() -> dict[str, Path]:
    root = resources.files(__name__)
    found: dict[str, Path] = {}
    for entry in root.iterdir():
        name = entry.name
        for suffix in _SUFFIXES:
            if name.endswith(suffix):
                found[name[: -len(suffix)]] = Path(str(entry))
    return found


def names() -> list[str]:
    """The bundled documents' names, sorted."""
    return sorted(_files())


def path(name: str) -> Path | None:
    """The file of bundled document ``name``, or None when there is none by that name."""
    return _files().get(name)


def read(name: str) -> str:
    """The text of bundled document ``name``; ``KeyError`` when there is none."""
    found = path(name)
    if found is None:
        raise KeyError(name)
    return found.read_text(encoding="utf-8")

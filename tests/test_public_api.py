"""The public names of each package are listed, sorted, in ``__all__`` and all exist."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["ssm_local", "ssm_local.grammar", "ssm_local.documents", "ssm_local.engine"]


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted_and_real(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert names == sorted(names)
    missing = [name for name in names if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_listed(package: str) -> None:
    import types

    module = importlib.import_module(package)
    public = {
        name for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
        and name not in ("annotations", "TYPE_CHECKING")
        and getattr(value, "__module__", None) != "typing"
    }
    assert public - set(module.__all__) == set()

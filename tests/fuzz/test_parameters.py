"""Fuzzing parameter values: document parameter definitions and supplied values through
``documents.parameters`` (coerce, check, resolve), and PutParameter / GetParameter on the
Parameter Store. Only ``SsmLocalError`` may come out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssm_local.documents import parameters
from ssm_local.documents.model import ParameterDefinition
from ssm_local.engine import Engine
from ssm_local.grammar.errors import SsmLocalError
from tests.fuzz.test_documents import ODD_TEXT, VALUES

FUZZ = settings(settings.get_profile("ssm-local-fuzz"))

TYPES = ["String", "StringList", "Integer", "Boolean", "MapList", "StringMap", "AWS::EC2::Instance::Id",
         "Unknown"]
PATTERNS = st.none() | st.sampled_from(
    ["^[a-z]+$", "^(a+)+$", "[", "^\\d{1,3}$", "(?i)^yes|no$", "\\p{L}+", ".*", "^[^\\ud800]*$"]
) | ODD_TEXT


@st.composite
def definitions(draw: st.DrawFn) -> ParameterDefinition:
    default = draw(st.none() | VALUES)
    return ParameterDefinition(
        name="P", type=draw(st.sampled_from(TYPES)), description=None, default=default,
        has_default=draw(st.booleans()),
        allowed_values=draw(st.none() | st.lists(VALUES, max_size=3).map(tuple)),
        allowed_pattern=draw(PATTERNS),
        min_items=draw(st.none() | st.integers(-2, 5)), max_items=draw(st.none() | st.integers(-2, 5)),
        min_chars=draw(st.none() | st.integers(-2, 50)), max_chars=draw(st.none() | st.integers(-2, 50)),
        interpolation_type=draw(st.none() | st.sampled_from(["ENV_VAR", "x"])), path=("parameters", "P"),
    )


SUPPLIED = VALUES | st.lists(ODD_TEXT, max_size=4) | st.sampled_from(
    ["{{x}}$(touch /tmp/x)", "a" * 30 + "!", "9" * 4400, "-0", "1e9999", "true", "[1,2]", '{"a": 1}'])


@FUZZ
@given(definitions(), SUPPLIED, st.booleans())
def test_coerce_check_and_resolve(definition: ParameterDefinition, value: Any, supply: bool) -> None:
    try:
        coerced = parameters.coerce(definition, value)
        parameters.check(definition, coerced)
    except SsmLocalError:
        pass
    with contextlib.suppress(SsmLocalError):
        parameters.resolve_parameters({"P": definition}, {"P": value} if supply else {},
                                      resolve_ssm=lambda name: "resolved")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root: Path = tmp_path_factory.mktemp("fuzz-store")
    with Engine(f"sqlite:///{root / 'store.db'}", home=root / "home", environ={}) as eng:
        yield eng


NAMES = st.sampled_from(["/a", "/a/b", "a", "/aws/x", "ssm", "/" + "x/" * 16, "/p:1", "/a//b",
                         "arn:aws:ssm:us-east-1:123456789012:parameter/a"]) | ODD_TEXT
SELECTORS = st.sampled_from([":1", ":0", ":" + "9" * 30, ":" + "9" * 5000, ":²", ":lab", ":", ""])


@FUZZ
@given(NAMES, ODD_TEXT | st.sampled_from(["x" * 4097, "v", "ami-12345678"]),
       st.sampled_from(["String", "StringList", "SecureString", "Bad", None]),
       st.none() | PATTERNS, st.none() | ODD_TEXT, st.booleans(),
       st.sampled_from([None, "text", "aws:ec2:image", "x"]),
       st.sampled_from([None, "Standard", "Advanced", "Intelligent-Tiering", "x"]),
       st.none() | st.sampled_from(['[{"Type": "Expiration", "Version": "1.0", "Attributes": '
                                    '{"Timestamp": "2999-01-01T00:00:00Z"}}]', "[", "[]"]) | ODD_TEXT,
       SELECTORS)
def test_put_and_get(engine: Engine, name: str, value: str, type_: str | None,
                     pattern: str | None, description: str | None, overwrite: bool,
                     data_type: str | None, tier: str | None, policies: str | None,
                     selector: str) -> None:
    store = engine.parameters
    with contextlib.suppress(SsmLocalError):
        store.put_parameter(name, value, type=type_, allowed_pattern=pattern,
                            description=description, overwrite=overwrite, data_type=data_type,
                            tier=tier, policies=policies)
    with contextlib.suppress(SsmLocalError):
        store.get_parameter(name + selector, with_decryption=True)
    with contextlib.suppress(SsmLocalError):
        store.get_parameters([name, name + selector])

"""Parameter Store contract, part 2: versions, labels, selectors, history, paths, describe, cache."""

from __future__ import annotations

import threading

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services import ParameterStore, ParameterStoreError
from tests.engine.store.backends import FakeClock


def code_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ParameterStoreError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.code


def test_hundred_versions_kept_oldest_dropped(engine: Engine) -> None:
    ps = engine.parameters
    for i in range(1, 101):
        ps.put_parameter("/v", str(i), type="String", overwrite=True)
    ps.put_parameter("/v", "101", overwrite=True)
    history = []
    token = None
    while True:
        page = ps.get_parameter_history("/v", next_token=token)
        history.extend(page.items)
        token = page.next_token
        if token is None:
            break
    assert [h.version for h in history] == list(range(2, 102))
    assert code_of(ps.get_parameter, "/v:1") == "ParameterVersionNotFound"
    assert ps.get_parameter("/v:2").value == "2"
    # A label on the oldest version blocks the drop until it moves.
    ps.label_parameter_version("/v", ["keep"], 2)
    assert code_of(ps.put_parameter, "/v", "102", overwrite=True) == (
        "ParameterMaxVersionLimitExceeded"
    )
    assert ps.get_parameter("/v").version == 101  # nothing half-written
    ps.label_parameter_version("/v", ["keep"], 50)
    assert ps.put_parameter("/v", "102", overwrite=True).version == 102
    assert ps.get_parameter("/v:keep").value == "50"


def test_labels(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/l", "one", type="String")
    ps.put_parameter("/l", "two", overwrite=True)
    result = ps.label_parameter_version("/l", ["Prod", "9lives", "awsy", "ssmx", "has/slash", "ok_1.x-y"], 1)
    assert result.to_api() == {
        "InvalidLabels": ["9lives", "awsy", "ssmx", "has/slash"],
        "ParameterVersion": 1,
    }
    assert ps.get_parameter("/l:Prod").value == "one"
    assert ps.get_parameter("/l:Prod").selector == ":Prod"
    assert code_of(ps.get_parameter, "/l:prod") == "ParameterVersionNotFound"  # case-sensitive
    # Without a version, the label goes on the newest; it moves from version 1.
    assert ps.label_parameter_version("/l", ["Prod"]).parameter_version == 2
    assert ps.get_parameter("/l:Prod").value == "two"
    history = {h.version: h.labels for h in ps.get_parameter_history("/l").items}
    assert history == {1: ("ok_1.x-y",), 2: ("Prod",)}
    # Ten labels a version at most.
    ps.label_parameter_version("/l", [f"l{i}" for i in range(9)], 2)
    assert code_of(ps.label_parameter_version, "/l", ["extra"], 2) == (
        "ParameterVersionLabelLimitExceeded"
    )
    assert code_of(ps.label_parameter_version, "/l", [f"m{i}" for i in range(11)], 1) == (
        "ValidationException"
    )
    assert code_of(ps.label_parameter_version, "/l", ["x" * 101], 1) == "ValidationException"
    assert code_of(ps.label_parameter_version, "/l", ["x"], 9) == "ParameterVersionNotFound"
    assert code_of(ps.label_parameter_version, "/nope", ["x"]) == "ParameterNotFound"
    removed = ps.unlabel_parameter_version("/l", 2, ["Prod", "ghost"])
    assert removed.to_api() == {"RemovedLabels": ["Prod"], "InvalidLabels": ["ghost"]}
    assert code_of(ps.get_parameter, "/l:Prod") == "ParameterVersionNotFound"
    assert code_of(ps.unlabel_parameter_version, "/l", 7, ["x"]) == "ParameterVersionNotFound"


def test_history_hides_secrets_unless_asked(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/s", "first-secret", type="SecureString", description="d")
    ps.put_parameter("/s", "second-secret", overwrite=True)
    plain = ps.get_parameter_history("/s", with_decryption=True).items
    assert [h.value for h in plain] == ["first-secret", "second-secret"]
    hidden = ps.get_parameter_history("/s").items
    assert all("secret" not in h.value for h in hidden)
    assert hidden[0].key_id == "alias/aws/ssm"
    page = ps.get_parameter_history("/s", max_results=1)
    assert len(page.items) == 1 and page.next_token
    assert code_of(ps.get_parameter_history, "/s", max_results=51) == "ValidationException"
    assert code_of(ps.get_parameter_history, "/s", next_token="garbage") == "InvalidNextToken"
    assert code_of(ps.get_parameter_history, "/none") == "ParameterNotFound"


@pytest.fixture
def tree(engine: Engine) -> ParameterStore:
    ps = engine.parameters
    for name, type_ in [
        ("/app/a", "String"),
        ("/app/b", "SecureString"),
        ("/app/c", "StringList"),
        ("/app/sub/d", "String"),
        ("/app/sub/deep/e", "String"),
        ("/app_x/f", "String"),  # '_' must not act as a LIKE wildcard
        ("/appzz", "String"),
        ("root", "String"),
    ]:
        ps.put_parameter(name, "v", type=type_)
    return ps


def _all_by_path(ps: ParameterStore, path: str, **kwargs: object) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = ps.get_parameters_by_path(path, next_token=token, max_results=2, **kwargs)  # type: ignore[arg-type]
        assert len(page.items) <= 2
        names.extend(p.name for p in page.items)
        token = page.next_token
        if token is None:
            return names


def test_get_parameters_by_path(tree: ParameterStore) -> None:
    ps = tree
    assert _all_by_path(ps, "/app") == ["/app/a", "/app/b", "/app/c"]
    assert _all_by_path(ps, "/app/") == ["/app/a", "/app/b", "/app/c"]
    assert _all_by_path(ps, "/app", recursive=True) == [
        "/app/a", "/app/b", "/app/c", "/app/sub/d", "/app/sub/deep/e"
    ]
    assert _all_by_path(ps, "/") == ["/appzz", "root"]
    assert len(_all_by_path(ps, "/", recursive=True)) == 8
    typed = _all_by_path(
        ps, "/app", recursive=True,
        parameter_filters=[{"Key": "Type", "Values": ["StringList", "SecureString"]}],
    )
    assert typed == ["/app/b", "/app/c"]
    ps.label_parameter_version("/app/sub/d", ["blue"])
    labelled = ps.get_parameters_by_path(
        "/app", recursive=True, parameter_filters=[{"Key": "Label", "Values": ["blue"]}]
    )
    assert [p.name for p in labelled.items] == ["/app/sub/d"]
    secret = ps.get_parameters_by_path("/app", with_decryption=True).items[1]
    assert secret.value == "v"
    assert code_of(ps.get_parameters_by_path, "/app", max_results=11) == "ValidationException"
    assert code_of(ps.get_parameters_by_path, "app") == "ValidationException"
    assert code_of(
        ps.get_parameters_by_path, "/app", parameter_filters=[{"Key": "Name", "Values": ["x"]}]
    ) == "InvalidFilterKey"
    assert code_of(
        ps.get_parameters_by_path, "/app",
        parameter_filters=[{"Key": "Label", "Option": "BeginsWith", "Values": ["b"]}],
    ) == "InvalidFilterOption"
    assert code_of(ps.get_parameters_by_path, "/app", next_token="!!") == "InvalidNextToken"


def test_describe_parameters(tree: ParameterStore) -> None:
    ps = tree

    def names(**kwargs: object) -> list[str]:
        return [m.name for m in ps.describe_parameters(**kwargs).items]  # type: ignore[arg-type]

    assert len(names()) == 8
    assert names(parameter_filters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/app/s"]}]) == [
        "/app/sub/d", "/app/sub/deep/e"
    ]
    assert names(parameter_filters=[{"Key": "Name", "Option": "Contains", "Values": ["deep"]}]) == [
        "/app/sub/deep/e"
    ]
    assert names(parameter_filters=[{"Key": "Name", "Values": ["root"]}]) == ["root"]
    assert names(parameter_filters=[{"Key": "Path", "Values": ["/app/sub"]}]) == ["/app/sub/d"]
    assert names(
        parameter_filters=[{"Key": "Path", "Option": "Recursive", "Values": ["/app/sub"]}]
    ) == ["/app/sub/d", "/app/sub/deep/e"]
    assert names(parameter_filters=[{"Key": "Type", "Values": ["SecureString"]}]) == ["/app/b"]
    assert names(filters=[{"Key": "Name", "Values": ["/app_"]}]) == ["/app_x/f"]
    ps.add_tags_to_resource("/app/c", [{"Key": "team", "Value": "core"}])
    assert names(parameter_filters=[{"Key": "tag:team", "Values": ["core"]}]) == ["/app/c"]
    assert names(parameter_filters=[{"Key": "Tier", "Values": ["Advanced"]}]) == []
    first = ps.describe_parameters(max_results=5)
    rest = ps.describe_parameters(max_results=5, next_token=first.next_token)
    assert len(first.items) == 5 and len(rest.items) == 3 and rest.next_token is None
    assert code_of(
        ps.describe_parameters,
        filters=[{"Key": "Name", "Values": ["a"]}],
        parameter_filters=[{"Key": "Name", "Values": ["a"]}],
    ) == "ValidationException"
    assert code_of(
        ps.describe_parameters, parameter_filters=[{"Key": "Path", "Option": "Deep", "Values": ["/a"]}]
    ) == "InvalidFilterOption"
    assert code_of(
        ps.describe_parameters, parameter_filters=[{"Key": "Type", "Values": ["Number"]}]
    ) == "InvalidFilterValue"
    assert code_of(
        ps.describe_parameters,
        parameter_filters=[{"Key": "Name", "Values": ["a"]}, {"Key": "Name", "Values": ["b"]}],
    ) == "InvalidFilterKey"
    assert code_of(ps.describe_parameters, max_results=51) == "ValidationException"
    meta = ps.describe_parameters(parameter_filters=[{"Key": "Name", "Values": ["/app/a"]}]).items[0]
    api = meta.to_api()
    assert "Value" not in api and api["Tier"] == "Standard" and api["Version"] == 1


def test_read_cache(engine: Engine, clock: FakeClock) -> None:
    ps = engine.parameters
    ps.put_parameter("/c", "1", type="String")
    first = ps.get_parameter("/c")
    assert ps.get_parameter("/c") is first  # served from the cache
    ps.put_parameter("/c", "2", overwrite=True)  # a write through this process invalidates
    assert ps.get_parameter("/c").value == "2"
    # Another process (here: another ParameterStore on the same store) writes.
    other = ParameterStore(engine.store, engine.keyring, clock=clock)
    other.put_parameter("/c", "3", overwrite=True)
    assert ps.get_parameter("/c").value == "2"  # still cached...
    clock.advance(1.5)
    assert ps.get_parameter("/c").value == "3"  # ...until cache_ttl passes
    other.delete_parameter("/c")
    clock.advance(1.5)
    assert code_of(ps.get_parameter, "/c") == "ParameterNotFound"


def test_concurrent_overwrites(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/race", "0", type="String")
    versions: list[int] = []
    errors: list[str] = []

    def worker(n: int) -> None:
        for i in range(10):
            try:
                versions.append(ps.put_parameter("/race", f"{n}-{i}", overwrite=True).version)
            except ParameterStoreError as exc:
                errors.append(exc.code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(errors) <= {"TooManyUpdates"}
    assert len(versions) == len(set(versions))  # no version handed out twice
    assert ps.get_parameter("/race").version == 1 + len(versions)

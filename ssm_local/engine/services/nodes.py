"""The node registry: the machines Run Command sends commands to, kept in the store. Every node has an
AWS-shaped managed-node id (``mi-`` + 17 hex digits) and a unique name. The machine ssm-local runs
on is always a node (kind ``self``, platform from the OS), created the first time the registry is
used; ``local`` nodes are extra nodes that also run on this machine (for tests and for fan-out);
``ssh`` nodes are hosts reached over SSH (``USER@HOST[:PORT]``, a key, a known_hosts policy);
``plugin`` nodes are served by any other executor of the executor registry (an entry-point plugin
of the group ``ssm_local.executors``, or the built-in ``mock``), made with the options stored with
the node. Every node names its executor (``local``, ``ssh`` or the plugin's name). Nodes carry
tags (stored with the resource type ``ManagedInstance``) and a platform type, and
``resolve_targets`` turns SendCommand's ``InstanceIds`` and ``Targets`` (``Key=InstanceIds``,
``Key=tag:NAME``, ``Key=tag-key``) into nodes. ``executor_for`` makes the executor that runs
invocations on a node, through the executor registry.
"""

from __future__ import annotations

import getpass
import json
import os
import platform as pyplatform
import re
import secrets
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ssm_local.engine.clock import Clock, SystemClock
from ssm_local.engine.executors import Executor, ExecutorRegistry
from ssm_local.engine.store import Store
from ssm_local.engine.store.command_tables import NodeRow
from ssm_local.engine.store.tables import TagRow
from ssm_local.engine.wire import from_epoch
from ssm_local.grammar.errors import ApiError, ExecutorError

if TYPE_CHECKING:  # asyncssh loads only when an SSH node runs
    from ssm_local.engine.executors.ssh import SshConnectionPool

NODE_ID = re.compile(r"^mi-[0-9a-f]{17}$")
NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,254}$")
TAG_RESOURCE_TYPE = "ManagedInstance"
PLATFORM_TYPES = ("Linux", "MacOS", "Windows")
KINDS = ("self", "local", "ssh", "plugin")
AGENT_VERSION = "ssm-local"
MAX_TARGETS = 5
MAX_TARGET_VALUES = 50
MAX_INSTANCE_IDS = 50

_NODES = NodeRow.__table__  # type: ignore[attr-defined]
_TAGS = TagRow.__table__  # type: ignore[attr-defined]


NodeExecutorFactory = Callable[["Node"], Executor]
"""``factory(node)`` -> the executor that runs invocations on ``node``."""


class NodeError(ApiError):
    """A node request is invalid: unknown node, duplicate name, bad SSH address or target."""

    code = "InvalidInstanceId"


def new_node_id() -> str:
    """``mi-`` followed by 17 random lowercase hex digits."""
    return "mi-" + secrets.token_hex(9)[:17]


def os_platform() -> tuple[str, str, str]:
    """This machine's (PlatformType, PlatformName, PlatformVersion), as the agent reports them."""
    system = pyplatform.system()
    if system == "Darwin":
        return "MacOS", "macOS", pyplatform.mac_ver()[0]
    if system == "Windows":
        return "Windows", "Microsoft Windows", pyplatform.version()
    name, version = "Linux", pyplatform.release()
    try:
        info = pyplatform.freedesktop_os_release()
        name = info.get("NAME", name)
        version = info.get("VERSION_ID", version)
    except OSError:
        pass
    return "Linux", name, version


@dataclass(frozen=True)
class Node:
    """A managed node, as the registry keeps it."""

    node_id: str
    name: str
    kind: str
    platform_type: str
    platform_name: str = ""
    platform_version: str = ""
    computer_name: str = ""
    host: str | None = None
    port: int | None = None
    username: str | None = None
    key_path: str | None = None
    known_hosts: str | None = None
    accept_new_host_keys: bool = False
    registration_date: float = 0.0
    tags: Mapping[str, str] = field(default_factory=dict)
    executor: str = "local"
    """The name of the node's executor in the executor registry: ``local``, ``ssh`` or a plugin's."""
    executor_options: Mapping[str, Any] = field(default_factory=dict)
    """Keyword options for a plugin executor's factory (JSON values)."""

    @property
    def address(self) -> str:
        """``user@host:port`` for SSH nodes, the executor's name for plugin nodes, ``local``
        otherwise."""
        if self.kind == "plugin":
            return self.executor
        if self.kind != "ssh":
            return "local"
        user = f"{self.username}@" if self.username else ""
        return f"{user}{self.host}:{self.port}"

    def to_api(self) -> dict[str, Any]:
        """The ``InstanceInformation`` shape of DescribeInstanceInformation, plus ``Tags``."""
        registered = from_epoch(self.registration_date)
        return {
            "InstanceId": self.node_id,
            "PingStatus": "Online",
            "LastPingDateTime": registered,
            "AgentVersion": AGENT_VERSION,
            "IsLatestVersion": True,
            "PlatformType": self.platform_type,
            "PlatformName": self.platform_name,
            "PlatformVersion": self.platform_version,
            "ResourceType": "ManagedInstance",
            "Name": self.name,
            "IPAddress": self.host if self.kind == "ssh" and self.host else "127.0.0.1",
            "ComputerName": self.computer_name or (self.host or ""),
            "RegistrationDate": registered,
            "SourceId": self.node_id,
            "SourceType": "AWS::SSM::ManagedInstance",
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())],
        }


def parse_ssh_address(text: str) -> tuple[str | None, str, int]:
    """``USER@HOST[:PORT]`` (or ``[HOST]:PORT`` for IPv6) -> (user, host, port)."""
    user: str | None = None
    rest = text.strip()
    if "@" in rest:
        user, _, rest = rest.rpartition("@")
        if not user:
            raise NodeError(f"SSH address {text!r} has an empty user name", code="ValidationException")
    port = 22
    if rest.startswith("["):
        host, sep, tail = rest[1:].partition("]")
        if not sep:
            raise NodeError(f"SSH address {text!r} has an unclosed '['", code="ValidationException")
        if tail:
            if not tail.startswith(":"):
                raise NodeError(f"cannot read SSH address {text!r}", code="ValidationException")
            port = _port(tail[1:], text)
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        port = _port(port_text, text)
    else:
        host = rest
    if not host or any(c.isspace() for c in host):
        raise NodeError(f"SSH address {text!r} has no host; use USER@HOST[:PORT]",
                        code="ValidationException")
    return user, host, port


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise NodeError(f"SSH address {whole!r} has an invalid port {text!r} (1-65535)",
                        code="ValidationException")
    return int(text)


def _check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not key or len(key) > 128 or key.lower().startswith("aws:"):
            raise NodeError(f"tag key {key!r} is not valid: 1-128 characters, not starting with "
                            "'aws:'", code="InvalidTag")
        if len(value) > 256:
            raise NodeError(f"the value of tag {key!r} is longer than 256 characters",
                            code="InvalidTag")
        checked[key] = value
    return checked


class NodeRegistry:
    """Nodes in the store: add, list, remove, look up, resolve targets, make executors."""

    def __init__(self, store: Store, *, clock: Clock | None = None,
                 home: Path | None = None, executors: ExecutorRegistry | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.home = home
        self._executors = executors
        self._local_base: str | None = None

    @property
    def executors(self) -> ExecutorRegistry:
        """The executor registry nodes' executors come from (the installed plugins are read once,
        on first use, unless one was given)."""
        if self._executors is None:
            self._executors = ExecutorRegistry()
        return self._executors

    # --- reading -------------------------------------------------------------------------------

    def ensure_self(self) -> Node:
        """The node of the machine ssm-local runs on, created on first use."""
        with self.store.read() as conn:
            row = conn.execute(sa.select(_NODES).where(_NODES.c.kind == "self")).mappings().first()
        if row is not None:
            return self._load(row)
        platform_type, platform_name, platform_version = os_platform()
        computer = socket.gethostname() or "localhost"
        with self.store.write() as conn:
            self.store.lock(conn, "ssm-local-nodes")
            row = conn.execute(sa.select(_NODES).where(_NODES.c.kind == "self")).mappings().first()
            if row is not None:
                return self._load(row, conn)
            name = computer
            if self._find(conn, name) is not None:
                name = f"{computer}-self"
            conn.execute(sa.insert(_NODES), {
                "node_id": new_node_id(), "name": name, "kind": "self",
                "platform_type": platform_type, "platform_name": platform_name,
                "platform_version": platform_version, "computer_name": computer,
                "registration_date": self.clock.time(), "executor": "local",
                "executor_options": "{}",
            })
            row = conn.execute(sa.select(_NODES).where(_NODES.c.kind == "self")).mappings().one()
            return self._load(row, conn)

    def list_nodes(self) -> list[Node]:
        """Every node, this machine first, then by name."""
        self.ensure_self()
        with self.store.read() as conn:
            rows = conn.execute(sa.select(_NODES).order_by(_NODES.c.name)).mappings().all()
            tags = self._all_tags(conn)
        nodes = [self._from_row(row, tags.get(row["node_id"], {})) for row in rows]
        return sorted(nodes, key=lambda n: (n.kind != "self", n.name))

    def get(self, name_or_id: str) -> Node:
        """The node with this id or name; ``NodeError`` (InvalidInstanceId) if there is none."""
        self.ensure_self()
        with self.store.read() as conn:
            row = self._find(conn, name_or_id)
            if row is None:
                raise NodeError(f"no node has the id or name {name_or_id!r}; see ssm-local nodes list")
            return self._load(row, conn)

    # --- writing -------------------------------------------------------------------------------

    def add_local(self, name: str, *, tags: Mapping[str, str] | None = None,
                  platform_type: str | None = None) -> Node:
        """A node that runs its invocations on this machine."""
        own_type, own_name, own_version = os_platform()
        return self._add(name, "local", tags or {}, {
            "platform_type": self._platform(platform_type or own_type),
            "platform_name": own_name, "platform_version": own_version,
            "computer_name": socket.gethostname() or "localhost", "executor": "local",
            "executor_options": "{}",
        })

    def add_ssh(self, name: str, address: str, *, key_path: str | None = None,
                known_hosts: str | None = None, accept_new_host_keys: bool = False,
                tags: Mapping[str, str] | None = None, platform_type: str = "Linux") -> Node:
        """A node reached over SSH at ``USER@HOST[:PORT]``."""
        user, host, port = parse_ssh_address(address)
        if key_path is not None:
            key_path = str(Path(key_path).expanduser().resolve())
            if not Path(key_path).is_file():
                raise NodeError(f"SSH key {key_path} does not exist", code="ValidationException")
        if known_hosts is not None:
            known_hosts = str(Path(known_hosts).expanduser().resolve())
        return self._add(name, "ssh", tags or {}, {
            "platform_type": self._platform(platform_type), "platform_name": "",
            "platform_version": "", "computer_name": host, "host": host, "port": port,
            "username": user or getpass.getuser(), "key_path": key_path,
            "known_hosts": known_hosts, "accept_new_host_keys": accept_new_host_keys,
            "executor": "ssh", "executor_options": "{}",
        })

    def add_executor(self, name: str, executor: str, *, options: Mapping[str, Any] | None = None,
                     tags: Mapping[str, str] | None = None, platform_type: str = "Linux") -> Node:
        """A node served by the executor registered as ``executor`` (a plugin of the entry point
        group ``ssm_local.executors``, or ``mock``), made with ``options`` (JSON values, passed
        as keywords to the executor's factory) for every command. ``local`` and ``ssh`` have
        ``add_local`` and ``add_ssh``. Raises NodeError ValidationException for an unknown or
        broken executor, options that are not JSON, or a bad name, tag or platform."""
        if executor in ("local", "ssh"):
            raise NodeError(f"{executor} nodes are added with add_{executor} (ssm-local nodes add "
                            f"NAME --{executor})", code="ValidationException")
        try:
            self.executors.factory(executor)
        except ExecutorError as exc:
            raise NodeError(exc.message, code="ValidationException") from None
        try:
            encoded = json.dumps(dict(options or {}), sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise NodeError(f"the options of executor {executor!r} must be JSON values: {exc}",
                            code="ValidationException") from None
        return self._add(name, "plugin", tags or {}, {
            "platform_type": self._platform(platform_type), "platform_name": "",
            "platform_version": "", "computer_name": name, "executor": executor,
            "executor_options": encoded,
        })

    def remove(self, name_or_id: str) -> Node:
        """Forget a node (never this machine's own node); returns what was removed."""
        node = self.get(name_or_id)
        if node.kind == "self":
            raise NodeError(f"{node.name} ({node.node_id}) is this machine; it is always a node "
                            "and cannot be removed", code="ValidationException")
        with self.store.write() as conn:
            conn.execute(sa.delete(_NODES).where(_NODES.c.node_id == node.node_id))
            conn.execute(sa.delete(_TAGS).where(_TAGS.c.resource_type == TAG_RESOURCE_TYPE,
                                                _TAGS.c.resource_id == node.node_id))
        return node

    def set_tags(self, name_or_id: str, tags: Mapping[str, str]) -> Node:
        """Add or replace tags on a node."""
        node = self.get(name_or_id)
        checked = _check_tags(tags)
        with self.store.write() as conn:
            self._write_tags(conn, node.node_id, checked)
        return self.get(node.node_id)

    # --- targets -------------------------------------------------------------------------------

    def resolve_targets(self, instance_ids: Sequence[str] | None = None,
                        targets: Sequence[Mapping[str, Any]] | None = None) -> list[Node]:
        """The nodes SendCommand reaches, in a stable order; see the module docstring.

        ``InstanceIds`` (ids; names are accepted too) must all exist. Several ``Targets`` must
        all match (they are combined with AND); the values of one target are alternatives.
        Giving both ``InstanceIds`` and ``Targets`` is an error, as in AWS.
        """
        instance_ids = list(instance_ids or [])
        targets = list(targets or [])
        if instance_ids and targets:
            raise NodeError("give InstanceIds or Targets, not both", code="InvalidParameters")
        if not instance_ids and not targets:
            raise NodeError("give InstanceIds or Targets", code="InvalidParameters")
        if len(instance_ids) > MAX_INSTANCE_IDS:
            raise NodeError(f"at most {MAX_INSTANCE_IDS} InstanceIds are allowed; use Targets "
                            "with tags for more nodes", code="InvalidParameters")
        if len(targets) > MAX_TARGETS:
            raise NodeError(f"at most {MAX_TARGETS} Targets are allowed", code="InvalidTarget")
        nodes = self.list_nodes()
        if instance_ids:
            return self._by_ids(nodes, instance_ids)
        chosen = nodes
        for target in targets:
            key = target.get("Key")
            values = target.get("Values")
            if not isinstance(key, str) or not isinstance(values, list) or not values or not all(
                isinstance(v, str) for v in values
            ):
                raise NodeError(f"target {dict(target)!r} needs a Key and a non-empty list of "
                                "Values", code="InvalidTarget")
            if len(values) > MAX_TARGET_VALUES:
                raise NodeError(f"target {key} has more than {MAX_TARGET_VALUES} values",
                                code="InvalidTarget")
            if key == "InstanceIds":
                if values == ["*"]:
                    continue
                wanted = {n.node_id for n in self._by_ids(nodes, values)}
                chosen = [n for n in chosen if n.node_id in wanted]
            elif key.startswith("tag:") and len(key) > 4:
                tag = key[4:]
                chosen = [n for n in chosen if n.tags.get(tag) in values]
            elif key == "tag-key":
                chosen = [n for n in chosen if any(v in n.tags for v in values)]
            else:
                raise NodeError(f"target key {key!r} is not supported; use InstanceIds, "
                                "tag:NAME or tag-key", code="InvalidTarget")
        return chosen

    def _by_ids(self, nodes: Iterable[Node], ids: Sequence[str]) -> list[Node]:
        by_key: dict[str, Node] = {}
        for node in nodes:
            by_key[node.node_id] = node
            by_key.setdefault(node.name, node)
        found: list[Node] = []
        seen: set[str] = set()
        for wanted in ids:
            match = by_key.get(wanted)
            if match is None:
                raise NodeError(f"instance {wanted!r} is not a registered node; see ssm-local "
                                "nodes list")
            if match.node_id not in seen:
                seen.add(match.node_id)
                found.append(match)
        return found

    # --- executors -----------------------------------------------------------------------------

    def executor_for(self, node: Node, *, local: Executor | None = None,
                     pool: SshConnectionPool | None = None) -> Executor:
        """A new executor for ``node``, made by the executor registry from the node's executor
        name: ``local`` (``local``, when given, is the shared one and is returned as it is),
        ``ssh`` from the node's address, key and host-key policy (connections shared through
        ``pool``), any other name from the node's options. The caller closes what it gets
        (except a ``local`` it passed in). Raises ExecutorError when the executor is unknown (a
        plugin that is no longer installed) or rejects its options."""
        if node.executor == "local" and local is not None and not node.executor_options:
            return local
        options: dict[str, Any] = dict(node.executor_options)
        if node.executor == "ssh":
            from ssm_local.engine.executors.ssh import SshTarget  # asyncssh only for SSH nodes

            assert node.host is not None and node.port is not None
            options = {
                "target": SshTarget(
                    host=node.host, port=node.port, username=node.username,
                    client_keys=(node.key_path,) if node.key_path else (),
                    known_hosts=node.known_hosts, accept_new_host_keys=node.accept_new_host_keys,
                ),
                "pool": pool,
            }
        return self.executors.create(node.executor, **options)

    def work_dir(self, node: Node, command_id: str) -> str:
        """The orchestration directory of one command on ``node`` (downloads go below it)."""
        if node.kind == "ssh":
            return f"{self.work_root(node)}/orchestration/{node.node_id}/{command_id}"
        if node.kind == "plugin":
            return f"/tmp/ssm-local/orchestration/{node.node_id}/{command_id}"
        return os.path.join(self.work_root(node), node.node_id, command_id)

    def work_root(self, node: Node) -> str:
        """The directory on ``node`` that everything down to a command's work_dir is kept
        private under (created 0700 and checked before use): ``/tmp/ssm-local-<user>`` on SSH
        nodes, ``/tmp/ssm-local`` on plugin nodes, ``$SSM_LOCAL_HOME/orchestration`` here."""
        if node.kind == "ssh":
            return f"/tmp/ssm-local-{node.username or 'ssm-local'}"
        if node.kind == "plugin":
            return "/tmp/ssm-local"
        if self._local_base is None:
            home = self.home if self.home is not None else Path(
                os.environ.get("SSM_LOCAL_HOME") or "~/.ssm-local").expanduser()
            self._local_base = os.path.join(str(home), "orchestration")
        return self._local_base

    # --- internals -----------------------------------------------------------------------------

    def _platform(self, value: str) -> str:
        for known in PLATFORM_TYPES:
            if value.lower() == known.lower():
                return known
        raise NodeError(f"platform {value!r} is not one of {', '.join(PLATFORM_TYPES)}",
                        code="ValidationException")

    def _add(self, name: str, kind: str, tags: Mapping[str, str], fields: dict[str, Any]) -> Node:
        if not NODE_NAME.match(name) or NODE_ID.match(name):
            raise NodeError(f"node name {name!r} is not valid: letters, digits, '_', '.', '@' "
                            "and '-', not starting with a symbol and not shaped like a node id",
                            code="ValidationException")
        checked = _check_tags(tags)
        self.ensure_self()
        with self.store.write() as conn:
            self.store.lock(conn, "ssm-local-nodes")
            if self._find(conn, name) is not None:
                raise NodeError(f"a node named {name!r} already exists", code="ValidationException")
            node_id = new_node_id()
            conn.execute(sa.insert(_NODES), {
                "node_id": node_id, "name": name, "kind": kind,
                "registration_date": self.clock.time(), **fields,
            })
            self._write_tags(conn, node_id, checked)
            row = conn.execute(sa.select(_NODES).where(_NODES.c.node_id == node_id)).mappings().one()
            return self._load(row, conn)

    def _write_tags(self, conn: Connection, node_id: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            conn.execute(sa.delete(_TAGS).where(
                _TAGS.c.resource_type == TAG_RESOURCE_TYPE, _TAGS.c.resource_id == node_id,
                _TAGS.c.key == key))
            conn.execute(sa.insert(_TAGS), {"resource_type": TAG_RESOURCE_TYPE,
                                            "resource_id": node_id, "key": key, "value": value})

    @staticmethod
    def _find(conn: Connection, name_or_id: str) -> Any:
        column = _NODES.c.node_id if NODE_ID.match(name_or_id) else _NODES.c.name
        return conn.execute(sa.select(_NODES).where(column == name_or_id)).mappings().first()

    def _load(self, row: Any, conn: Connection | None = None) -> Node:
        if conn is None:
            with self.store.read() as reader:
                return self._load(row, reader)
        tags = conn.execute(sa.select(_TAGS.c.key, _TAGS.c.value).where(
            _TAGS.c.resource_type == TAG_RESOURCE_TYPE,
            _TAGS.c.resource_id == row["node_id"])).all()
        return self._from_row(row, {k: v for k, v in tags})

    @staticmethod
    def _all_tags(conn: Connection) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        rows = conn.execute(sa.select(_TAGS.c.resource_id, _TAGS.c.key, _TAGS.c.value).where(
            _TAGS.c.resource_type == TAG_RESOURCE_TYPE)).all()
        for resource_id, key, value in rows:
            found.setdefault(resource_id, {})[key] = value
        return found

    @staticmethod
    def _from_row(row: Any, tags: Mapping[str, str]) -> Node:
        return Node(
            node_id=row["node_id"], name=row["name"], kind=row["kind"],
            platform_type=row["platform_type"], platform_name=row["platform_name"] or "",
            platform_version=row["platform_version"] or "",
            computer_name=row["computer_name"] or "", host=row["host"], port=row["port"],
            username=row["username"], key_path=row["key_path"], known_hosts=row["known_hosts"],
            accept_new_host_keys=bool(row["accept_new_host_keys"]),
            registration_date=float(row["registration_date"]), tags=dict(tags),
            executor=row["executor"], executor_options=json.loads(row["executor_options"] or "{}"),
        )

"""``ssm-local nodes ...``: the machines Run Command sends commands to. ``nodes add NAME --ssh
USER@HOST[:PORT]`` registers an SSH host (``--key``, ``--known-hosts``, ``--accept-new-host-keys``,
``--tag K=V``, ``--platform``), ``nodes add NAME --local`` an extra node that runs on this machine,
``nodes add NAME --executor PLUGIN --option K=V...`` a node served by an executor plugin (options
are passed to it as text), ``nodes list`` shows every node (this machine first; ``--output`` in
DescribeInstanceInformation's shape, with tags), ``nodes remove NAME|ID`` forgets one and ``nodes
tag NAME|ID K=V...`` adds tags. ``--db URL`` (or ``SSM_LOCAL_DB``) picks the store.
"""

from __future__ import annotations

import argparse
from typing import Any

from ssm_local.engine.cli import EXIT_OK, UsageError
from ssm_local.engine.cli.common import open_engine
from ssm_local.engine.cli.output import add_output_options, emit


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL",
                        help="store URL (sqlite:///PATH or postgresql://...); default "
                             "$SSM_LOCAL_DB, else $SSM_LOCAL_HOME/store.db")


def parse_tag_args(items: list[str] | None, what: str = "tag") -> dict[str, str]:
    """``KEY=VALUE`` items -> a map (a later item replaces an earlier one with the same key)."""
    tags: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"cannot read {what} {item!r}: use KEY=VALUE")
        tags[key] = value
    return tags


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    nodes = sub.add_parser("nodes", help="managed nodes: add, list, remove and tag them",
                           description="The nodes Run Command targets: this machine (always "
                                       "there), extra local nodes and SSH hosts.")
    cmds = nodes.add_subparsers(dest="nodes_command", metavar="COMMAND")
    cmds.required = True

    add = cmds.add_parser("add", help="register a node (--ssh USER@HOST[:PORT], --local or "
                                      "--executor NAME)")
    add.add_argument("name", metavar="NAME")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument("--ssh", metavar="USER@HOST[:PORT]", help="an SSH host")
    kind.add_argument("--local", action="store_true",
                      help="another node that runs on this machine (tests, fan-out)")
    kind.add_argument("--executor", metavar="NAME",
                      help="a node served by an executor plugin (entry point group "
                           "ssm_local.executors) or the built-in mock")
    add.add_argument("--option", action="append", metavar="KEY=VALUE",
                     help="an option of the --executor plugin, passed as text (repeatable)")
    add.add_argument("--key", metavar="PATH", help="SSH private key (default: agent and ~/.ssh)")
    add.add_argument("--known-hosts", metavar="PATH",
                     help="known_hosts file to check the host key against "
                          "(default ~/.ssh/known_hosts)")
    add.add_argument("--accept-new-host-keys", action="store_true",
                     help="trust and record the key of a host not yet in known_hosts "
                          "(a changed key is still refused)")
    add.add_argument("--tag", action="append", metavar="KEY=VALUE", help="a tag (repeatable)")
    add.add_argument("--platform", choices=("Linux", "MacOS", "Windows"),
                     help="the node's platform type (default: Linux for SSH and plugins, this OS "
                          "for local)")
    add_db_option(add)
    add_output_options(add)
    add.set_defaults(func=run_add)

    listing = cmds.add_parser("list", help="list the nodes")
    add_db_option(listing)
    add_output_options(listing)
    listing.set_defaults(func=run_list)

    remove = cmds.add_parser("remove", help="forget a node")
    remove.add_argument("node", metavar="NAME|ID")
    add_db_option(remove)
    add_output_options(remove)
    remove.set_defaults(func=run_remove)

    tag = cmds.add_parser("tag", help="add or replace tags on a node")
    tag.add_argument("node", metavar="NAME|ID")
    tag.add_argument("tags", nargs="+", metavar="KEY=VALUE")
    add_db_option(tag)
    add_output_options(tag)
    tag.set_defaults(func=run_tag)


def _describe(node: Any) -> str:
    tags = ",".join(f"{k}={v}" for k, v in sorted(node.tags.items()))
    return (f"{node.node_id}  {node.name:<20} {node.kind:<5} {node.platform_type:<7} "
            f"{node.address:<28} {tags}").rstrip()


def run_add(args: argparse.Namespace) -> int:
    tags = parse_tag_args(args.tag)
    options = parse_tag_args(args.option, "option")
    if options and not args.executor:
        raise UsageError("--option is for --executor")
    with open_engine(args) as engine:
        if (args.local or args.executor) and (
                args.key or args.known_hosts or args.accept_new_host_keys):
            raise UsageError("--key, --known-hosts and --accept-new-host-keys are for --ssh")
        if args.local:
            node = engine.nodes.add_local(args.name, tags=tags, platform_type=args.platform)
        elif args.executor:
            node = engine.nodes.add_executor(args.name, args.executor, options=options, tags=tags,
                                             platform_type=args.platform or "Linux")
        else:
            node = engine.nodes.add_ssh(
                args.name, args.ssh, key_path=args.key, known_hosts=args.known_hosts,
                accept_new_host_keys=args.accept_new_host_keys, tags=tags,
                platform_type=args.platform or "Linux")
    emit(args, node.to_api(), "RegisterNode",
         lambda: print(f"added {node.name} ({node.node_id}, {node.kind} {node.address})"))
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        nodes = engine.nodes.list_nodes()

    def readable() -> None:
        print(f"{'ID':<20}  {'NAME':<20} {'KIND':<5} {'PLATFORM':<7} {'ADDRESS':<28} TAGS")
        for node in nodes:
            print(_describe(node))

    emit(args, {"InstanceInformationList": [n.to_api() for n in nodes]},
         "DescribeInstanceInformation", readable)
    return EXIT_OK


def run_remove(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        node = engine.nodes.remove(args.node)
    emit(args, {}, "DeregisterManagedInstance",
         lambda: print(f"removed {node.name} ({node.node_id})"))
    return EXIT_OK


def run_tag(args: argparse.Namespace) -> int:
    tags = parse_tag_args(args.tags)
    with open_engine(args) as engine:
        node = engine.nodes.set_tags(args.node, tags)
    emit(args, {}, "AddTagsToResource", lambda: print(_describe(node)))
    return EXIT_OK

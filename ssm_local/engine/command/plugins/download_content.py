"""``aws:downloadContent``: fetch content and write it onto the node under its downloads directory.

Sources: ``HTTP`` (``sourceInfo.url``: http and https URLs fetched by ssm-local, ``file://`` URLs
copied on the node itself, as the agent reads a local path on its own machine) and
``SSMDocument`` (``sourceInfo.name`` = ``name[:version]``, written as ``<destination>/<name>.json``
or ``.yaml``). ``GitHub``, ``Git`` and ``S3`` fail saying they are not supported by ssm-local.
``destinationPath`` is relative to ``<work_dir>/downloads`` unless absolute; for HTTP an empty
path or one ending in ``/`` keeps the URL's file name. The content travels to the node through the
node's executor, so the same code serves local and SSH nodes; a cancel or the command's overall
timeout while it is written ends the step Cancelled or TimedOut.

Two guards: the directories from the node's work root down to the downloads directory are
created private or refused (``ssm_local.engine.executors.private``), and a ``file://`` source
that resolves (symlinks followed, on the opened file) into ssm-local's own state (its home, its
store, its key ring: ``own_state_paths``) is refused, on every node.
"""

from __future__ import annotations

import asyncio
import base64
import json
import posixpath
import urllib.parse
import urllib.request
from typing import Any

from ssm_local.engine.command.plugins.base import (
    FAILED,
    SUCCESS,
    PluginResult,
    StepContext,
    interrupted,
    time_left,
    work_dir_guard,
)
from ssm_local.engine.executors.base import InvocationRequest
from ssm_local.engine.store.database import own_state_paths

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 60
WRITE_TIMEOUT = 300
"""Seconds the content may take to be written on the node (cut to the overall deadline)."""


def _fail(ctx: StepContext, message: str) -> PluginResult:
    now = ctx.node.clock.now()
    return PluginResult(ctx.step.name, ctx.step.action, FAILED, "Failed", 1, now, now,
                        stderr=message + "\n")


def _fetch(url: str) -> bytes:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme {parsed.scheme!r}")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
        data: bytes = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ValueError(f"content is larger than {MAX_DOWNLOAD_BYTES} bytes")
    return data


def _destination(ctx: StepContext, value: Any, default_name: str, *, directory: bool) -> str:
    base = posixpath.join(ctx.node.work_dir, "downloads")
    dest = value.strip() if isinstance(value, str) else ""
    if dest and not posixpath.isabs(dest):
        dest = posixpath.join(base, dest)
    if not dest:
        dest = base + "/"
    if directory or dest.endswith("/"):
        dest = posixpath.join(dest, default_name)
    return dest


async def download_content(ctx: StepContext) -> PluginResult:
    # The agent decodes inputs with Go's encoding/json, which matches keys case-insensitively:
    # AWS-ApplyAnsiblePlaybooks writes SourceType and SourceInfo.
    inputs = {key[:1].lower() + key[1:]: value for key, value in ctx.inputs.items()}
    started = ctx.node.clock.now()
    source_type = inputs.get("sourceType")
    if source_type not in ("HTTP", "SSMDocument"):
        return _fail(ctx, f"sourceType {source_type} is not supported by ssm-local "
                          "(supported: HTTP, SSMDocument)")
    info = inputs.get("sourceInfo")
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except json.JSONDecodeError:
            return _fail(ctx, "sourceInfo must be a map or JSON text")
    if not isinstance(info, dict):
        return _fail(ctx, "sourceInfo must be a map")
    try:
        if source_type == "HTTP":
            url = info.get("url")
            if not isinstance(url, str) or not url:
                return _fail(ctx, "sourceType HTTP needs sourceInfo.url")
            parsed = urllib.parse.urlparse(url)
            name = posixpath.basename(parsed.path) or "download"
            dest = _destination(ctx, inputs.get("destinationPath"), name, directory=False)
            if parsed.scheme == "file":
                if parsed.netloc not in ("", "localhost"):
                    return _fail(ctx, f"aws:downloadContent cannot read {url}: a file:// URL names "
                                      "a path on the node itself, not on another host")
                source = urllib.parse.unquote(parsed.path)
                return await _write_on_node(ctx, dest, started, _COPY_ON_NODE,
                                            {"SSM_LOCAL_SOURCE": source,
                                             "SSM_LOCAL_OWN_STATE": "\n".join(own_state_paths())})
            content = await asyncio.to_thread(_fetch, url)
        elif source_type == "SSMDocument":
            document_name = info.get("name")
            if not isinstance(document_name, str) or not document_name:
                return _fail(ctx, "sourceType SSMDocument needs sourceInfo.name")
            if ctx.node.resolve_document is None:
                return _fail(ctx, "no document registry is available to find " + document_name)
            document = ctx.node.resolve_document(document_name)
            content = document.text.encode("utf-8")
            suffix = ".json" if document.format == "JSON" else ".yaml"
            file_name = document_name.split(":")[0].split("/")[-1] + suffix
            dest = _destination(ctx, inputs.get("destinationPath"), file_name, directory=True)
        else:
            return _fail(ctx, f"sourceType {source_type} is not supported by ssm-local "
                              "(supported: HTTP, SSMDocument)")
    except Exception as exc:  # the fetch boundary: urllib, OS and registry errors
        message = getattr(exc, "message", None) or str(exc)
        return _fail(ctx, f"aws:downloadContent could not fetch the content: {message}")
    encoded = base64.b64encode(content).decode("ascii")
    lines = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    body = (
        'mkdir -p "$(dirname "$SSM_LOCAL_DEST")"\n'
        f"base64 -d > \"$SSM_LOCAL_DEST\" <<'SSM_LOCAL_EOF'\n{lines}\nSSM_LOCAL_EOF\n"
    )
    return await _write_on_node(ctx, dest, started, body, {})


_COPY_ON_NODE = r"""src=$SSM_LOCAL_SOURCE
exec 4< "$src" || { echo "aws:downloadContent could not read $src on the node" >&2; exit 1; }
[ -f "$src" ] || { echo "aws:downloadContent could not read $src on the node: not a file" >&2; exit 1; }
real=$(readlink "/proc/$$/fd/4" 2>/dev/null) || real=
case $real in /*) ;; *) real=$(readlink -f -- "$src" 2>/dev/null) || real=$src;; esac
saved=$IFS; IFS='
'
set -f
for own in $SSM_LOCAL_OWN_STATE; do
  case $real in "$own"|"$own"/*)
    echo "aws:downloadContent refuses to read $src: it is ssm-local's own state ($own)" >&2
    exit 1;;
  esac
done
set +f; IFS=$saved
mkdir -p "$(dirname "$SSM_LOCAL_DEST")"
cat <&4 > "$SSM_LOCAL_DEST"
exec 4<&-
"""
"""Copies ``$SSM_LOCAL_SOURCE`` on the node: the file is opened first and the path of the opened
file (``/proc/$$/fd``, else ``readlink -f``) is checked against ``$SSM_LOCAL_OWN_STATE``, so a
symbolic link swapped after the check cannot lead elsewhere."""


async def _write_on_node(ctx: StepContext, dest: str, started: Any, body: str,
                         environment: dict[str, str]) -> PluginResult:
    """Run ``body`` (which writes ``$SSM_LOCAL_DEST``) on the node, the work directory made
    private first when ``dest`` is under it."""
    guard, guard_environment = "", dict[str, str]()
    downloads = posixpath.join(ctx.node.work_dir, "downloads")
    if dest.startswith(ctx.node.work_dir + "/"):
        guard, guard_environment = work_dir_guard(ctx.node, downloads)
    script = (guard + "set -e\n" + body + 'echo "Content downloaded to $SSM_LOCAL_DEST"\n')
    result = await ctx.node.executor.run(
        InvocationRequest(script=script,
                          environment={"SSM_LOCAL_DEST": dest, **guard_environment, **environment},
                          timeout_seconds=time_left(ctx.node, WRITE_TIMEOUT),
                          script_filename="_download.sh"),
        cancel=ctx.node.cancel,
    )
    status, details = (SUCCESS, "Success") if result.ok else (FAILED, "Failed")
    status, details = interrupted(result) or (status, details)
    return PluginResult(ctx.step.name, ctx.step.action, status, details, result.exit_code, started,
                        ctx.node.clock.now(), result.stdout_text,
                        result.stderr_text + (result.error + "\n" if result.error else ""))

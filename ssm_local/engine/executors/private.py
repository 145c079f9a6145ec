"""Private directories on a node: created 0700, or reused only when owned by the user and closed.

ssm-local keeps each command's orchestration directory (downloads, documents read by
``aws:runDocument``) under a root with a predictable name, such as ``/tmp/ssm-local-<user>`` on an
SSH node. A predictable name in a shared directory is a door for another local user, who could
create it first and put their own files where the next run reads them. So every directory from
the root down to the one a step uses is created with ``mkdir -m 700`` (which fails when the name
exists) and then checked with one ``lstat`` (``ls -ldn``): a directory, not a symbolic link,
owned by the user running the command, with no group or other bits. The root's parent must not
be writable by other users unless it is sticky (``/tmp``), so that nobody can rename a checked
directory away and put their own in its place (a missing parent is created, mode 0700). A
directory that fails a check is never used: the step fails with a message naming it, before
anything runs.

The check is POSIX ``sh`` (:data:`PRIVATE_DIRECTORY_SH`), so the same text guards local nodes and
SSH nodes: a plugin prepends it to the script it runs through the node's executor.
:func:`check_private_directory` is the same check in Python, for directories this process makes.
"""

from __future__ import annotations

import os
import stat

__all__ = ["PRIVATE_DIRECTORY_SH", "check_private_directory", "private_directory_script"]

PRIVATE_DIRECTORY_SH = r"""ssm_local_private_dir() {
  _sl_root=$1; _sl_target=$2; _sl_uid=$(id -u) || return 1
  case $_sl_target in "$_sl_root"|"$_sl_root"/*) ;; *)
    echo "ssm-local: $_sl_target is not inside $_sl_root" >&2; return 1;; esac
  _sl_up=$(dirname -- "$_sl_root")
  [ -d "$_sl_up" ] || (umask 077 && mkdir -p -- "$_sl_up") 2>/dev/null
  _sl_ls=$(ls -ldn -- "$_sl_up" 2>/dev/null) || {
    echo "ssm-local: could not create the directory $_sl_up on the node" >&2; return 1; }
  set -f; set -- $_sl_ls; set +f
  case $1 in ?????w*|????????w*) case $1 in ?????????[tT]*) ;; *)
    echo "ssm-local: refusing to use $_sl_root: its parent directory $_sl_up" \
      "is writable by other users and not sticky" >&2
    return 1;; esac;; esac
  _sl_dir=$_sl_root; _sl_rest=${_sl_target#"$_sl_root"}
  while :; do
    mkdir -m 700 -- "$_sl_dir" 2>/dev/null
    _sl_ls=$(ls -ldn -- "$_sl_dir" 2>/dev/null) || {
      echo "ssm-local: could not create the directory $_sl_dir on the node" >&2; return 1; }
    set -f; set -- $_sl_ls; set +f
    case $1 in
      l*) echo "ssm-local: refusing to use $_sl_dir: it is a symbolic link" >&2; return 1;;
      d*) ;;
      *) echo "ssm-local: refusing to use $_sl_dir: it is not a directory" >&2; return 1;;
    esac
    [ "$3" = "$_sl_uid" ] || {
      echo "ssm-local: refusing to use $_sl_dir: it is owned by uid $3," \
        "not by uid $_sl_uid that runs the command" >&2
      return 1; }
    case $1 in drwx------|drwx------.) ;; *)
      echo "ssm-local: refusing to use $_sl_dir: its mode is $1, not drwx------ (private to its owner)" >&2
      return 1;; esac
    _sl_rest=${_sl_rest#/}
    [ -n "$_sl_rest" ] || return 0
    _sl_name=${_sl_rest%%/*}; _sl_rest=${_sl_rest#"$_sl_name"}; _sl_dir=$_sl_dir/$_sl_name
  done
}
"""
"""Defines ``ssm_local_private_dir ROOT DIR``: creates or checks every directory from ``ROOT``
down to ``DIR`` (see the module docstring); on a refusal it prints ``ssm-local: refusing to use
<dir>: <reason>`` on stderr and returns 1."""


def private_directory_script(root_variable: str, directory_variable: str) -> str:
    """Script lines that make ``$<directory_variable>`` private under ``$<root_variable>`` or exit 1.

    The two names are environment variables of the request (their values never enter the text).
    """
    return (PRIVATE_DIRECTORY_SH
            + f'ssm_local_private_dir "${root_variable}" "${directory_variable}" || exit 1\n')


def check_private_directory(path: str) -> str | None:
    """Why the directory at ``path`` is not private to this user, or ``None`` when it is.

    Private: a directory (``lstat``, so not a symbolic link) owned by this process's user with
    no group or other permission bits.
    """
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"refusing to use {path}: {exc.strerror or exc}"
    if stat.S_ISLNK(info.st_mode):
        return f"refusing to use {path}: it is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return f"refusing to use {path}: it is not a directory"
    if info.st_uid != os.getuid():
        return (f"refusing to use {path}: it is owned by uid {info.st_uid}, "
                f"not by uid {os.getuid()} that runs the command")
    if stat.S_IMODE(info.st_mode) & 0o077:
        return f"refusing to use {path}: its mode is {stat.S_IMODE(info.st_mode):o}, not 700"
    return None

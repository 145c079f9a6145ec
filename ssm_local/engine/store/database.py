"""Open a store by URL and run reads and write transactions on it, on SQLite or PostgreSQL.

``Store(url)`` creates the SQLAlchemy engine, tunes SQLite (WAL journal, a busy timeout, foreign
keys, ``BEGIN IMMEDIATE`` for writes so that two writers queue instead of deadlocking), applies
pending migrations, and hands out connections: ``store.read()`` for queries and
``store.write()`` for one transaction that commits as a whole or not at all. This module is the
boundary where sqlalchemy and driver exceptions become ``StoreError`` (the store is unreachable or
broken) or ``StoreConflict`` (a concurrent writer won a race; the caller may retry). Passwords in
URLs never appear in messages.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import stat
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError

from ssm_local.grammar.errors import StoreError

DEFAULT_HOME = "~/.ssm-local"
SQLITE_FILE = "store.db"
HOME_MODE = 0o700
"""The mode of ``$SSM_LOCAL_HOME`` (and of any directory the store creates)."""
FILE_MODE = 0o600
"""The mode of the SQLite store file; SQLite gives its ``-wal``/``-shm`` files the same mode."""

_log = logging.getLogger(__name__)
_SQLITE_FILES = ("", "-wal", "-shm", "-journal")
"""The suffixes of a SQLite store's files (the database, its write-ahead log, shared memory and
rollback journal)."""
_OWN_STATE: Counter[str] = Counter()
"""Paths registered with :func:`protect_own_state` (store files, homes) in this process, with
how many open stores and engines registered each; :func:`release_own_state` takes one back."""


def make_private_directory(path: Path) -> None:
    """Create ``path`` and any missing parents, each mode 0700 (``mkdir -p`` would leave the
    parents at the umask's mode). An existing directory is left as it is. Raises ``OSError``."""
    if path.exists() and not path.is_dir():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=HOME_MODE)
        os.chmod(directory, HOME_MODE)


def protect_own_state(path: str | Path) -> None:
    """Add ``path`` (a file, or a directory and everything below it) to :func:`own_state_paths`.
    The store registers its SQLite files and ``Engine`` its home, each until it is closed."""
    _OWN_STATE[os.path.realpath(os.path.expanduser(path))] += 1


def release_own_state(path: str | Path) -> None:
    """Take back one :func:`protect_own_state` of ``path`` (when its store or engine closes), so
    that a long-lived process that opens many stores keeps a short list."""
    key = os.path.realpath(os.path.expanduser(path))
    if _OWN_STATE[key] <= 1:
        _OWN_STATE.pop(key, None)
    else:
        _OWN_STATE[key] -= 1


def own_state_paths(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The paths of ssm-local's own state, which no document may read: ``$SSM_LOCAL_HOME``,
    ``$SSM_LOCAL_KEYRING``, every SQLite store this process opened (with its ``-wal``, ``-shm``
    and ``-journal`` files) and every registered home. Resolved, absolute; a directory covers
    everything below it."""
    env = os.environ if environ is None else environ
    paths = {os.path.realpath(ssm_local_home(env)), *_OWN_STATE}
    if env.get("SSM_LOCAL_KEYRING"):
        paths.add(os.path.realpath(os.path.expanduser(env["SSM_LOCAL_KEYRING"])))
    kept: list[str] = []
    for path in sorted(paths):  # a directory covers everything below it: keep the outermost
        if not any(path.startswith(outer.rstrip("/") + "/") for outer in kept):
            kept.append(path)
    return tuple(kept)


class StoreConflict(StoreError):
    """A write collided with a concurrent one (a unique key or a lock); retrying may succeed."""

    code = "TooManyUpdates"


def ssm_local_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$SSM_LOCAL_HOME`` or ``~/.ssm-local``, expanded (not created)."""
    env = os.environ if environ is None else environ
    return Path(env.get("SSM_LOCAL_HOME") or DEFAULT_HOME).expanduser()


def default_store_url(environ: Mapping[str, str] | None = None) -> str:
    """The URL used when no ``--db`` is given: ``$SSM_LOCAL_DB``, else SQLite under the home."""
    env = os.environ if environ is None else environ
    if env.get("SSM_LOCAL_DB"):
        return env["SSM_LOCAL_DB"]
    return f"sqlite:///{ssm_local_home(env) / SQLITE_FILE}"


def normalize_url(url: str) -> str:
    """Accept a bare file path as a SQLite store; ``postgresql://`` means psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    """A database holding everything ssm-local keeps; one per process and URL is enough.

    ``Store`` is thread-safe (SQLAlchemy's pool hands each thread its own connection). Several
    processes may share one store: SQLite serialises writers through its lock, PostgreSQL through
    row locks and unique keys.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True, echo: bool = False) -> None:
        self.url = normalize_url(url or default_store_url())
        self._own_files: tuple[str, ...] = ()
        try:
            parsed = sa.make_url(self.url)
        except ArgumentError as exc:
            raise StoreError(f"the store URL is not valid: {exc}", code="InvalidStoreUrl") from None
        self.display_url = parsed.render_as_string(hide_password=True)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(
                f"unsupported store {self.display_url}: use sqlite:///PATH or postgresql://...",
                code="InvalidStoreUrl",
            )
        try:
            self.engine = self._create_engine(parsed, echo)
        except (NoSuchModuleError, ImportError) as exc:
            raise StoreError(
                f"cannot open {self.display_url}: the database driver is missing ({exc})",
                code="StoreUnavailable",
            ) from None
        if migrate:
            from ssm_local.engine.store.migrations import migrate as run_migrations

            try:
                run_migrations(self)
            except BaseException:
                self.engine.dispose()
                raise

    def _create_engine(self, parsed: sa.URL, echo: bool) -> Engine:
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:" and not database.startswith("file:"):
                path = Path(database).expanduser()
                self._own_files = tuple(f"{path}{suffix}" for suffix in _SQLITE_FILES)
                for own in self._own_files:
                    protect_own_state(own)
                _prepare_private_file(path)
            engine = sa.create_engine(
                parsed, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}
            )
            _tune_sqlite(engine)
            return engine
        return sa.create_engine(parsed, echo=echo, pool_pre_ping=True)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for queries; nothing it does is committed."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise self._translate(exc) from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    yield conn
        except DBAPIError as exc:
            raise self._translate(exc) from None

    @contextmanager
    def fast_write(self) -> Iterator[FastCursor]:
        """One transaction on a bare DB-API cursor, for hot paths (see ``FastCursor``)."""
        with self._fast(write=True) as cursor:
            yield cursor

    @contextmanager
    def fast_read(self) -> Iterator[FastCursor]:
        """Queries on a bare DB-API cursor; nothing is committed."""
        with self._fast(write=False) as cursor:
            yield cursor

    @contextmanager
    def _fast(self, *, write: bool) -> Iterator[FastCursor]:
        dbapi = self.engine.dialect.dbapi
        errors: tuple[type[BaseException], ...] = (dbapi.Error,) if dbapi is not None else ()
        try:
            raw = self.engine.raw_connection()
        except DBAPIError as exc:
            raise self._translate(exc) from None
        try:
            cursor = raw.cursor()
            if self.dialect == "sqlite" and write:
                cursor.execute("BEGIN IMMEDIATE")
            yield FastCursor(cursor, self.dialect)
            if write:
                if self.dialect == "sqlite":
                    cursor.execute("COMMIT")
                else:
                    raw.commit()
        except errors as exc:
            _rollback(raw)
            raise self._translate(DBAPIError(None, None, exc)) from None
        except BaseException:
            _rollback(raw)
            raise
        finally:
            raw.close()

    def lock(self, conn: Connection, key: str) -> None:
        """Serialise writers on ``key`` for the rest of ``conn``'s transaction.

        SQLite needs nothing: a write transaction already holds the database's write lock.
        PostgreSQL takes a transaction-scoped advisory lock.
        """
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})

    def _translate(self, exc: DBAPIError) -> StoreError:
        if isinstance(exc, IntegrityError) or _is_integrity(exc.orig):
            return StoreConflict("a concurrent update changed the same resource; try again")
        text = str(exc.orig) if exc.orig is not None else str(exc)
        lowered = text.lower()
        if "database is locked" in lowered or "deadlock" in lowered or "could not serialize" in lowered:
            return StoreConflict("the store is busy with a concurrent update; try again")
        return StoreError(
            f"the store at {self.display_url} failed: {text.strip().splitlines()[0] if text else exc}",
            code="StoreUnavailable",
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        for path in self._own_files:
            release_own_state(path)
        self._own_files = ()

    def __repr__(self) -> str:
        return f"Store({self.display_url!r})"


_NAMED = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


class FastCursor:
    """A DB-API cursor taking ``:name`` parameters on both SQLite and psycopg.

    SQLAlchemy Core costs tens of microseconds per statement, a lot next to SQLite's own few;
    the hottest paths (PutParameter, an uncached GetParameter) write their handful of
    statements as SQL text against the tables declared in ``ssm_local.engine.store.tables`` instead.
    Statements must not contain ``%`` (psycopg's placeholder character).
    """

    _converted: ClassVar[dict[str, str]] = {}

    def __init__(self, cursor: Any, dialect: str) -> None:
        self._cursor = cursor
        self._postgres = dialect == "postgresql"

    def _sql(self, sql: str) -> str:
        if not self._postgres:
            return sql
        done = self._converted.get(sql)
        if done is None:
            done = self._converted[sql] = _NAMED.sub(r"%(\1)s", sql)
        return done

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._cursor.execute(self._sql(sql), params or {})

    def executemany(self, sql: str, rows: list[dict[str, Any]]) -> None:
        self._cursor.executemany(self._sql(sql), rows)

    def one(self, sql: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """The first row as a dict, or None."""
        self._cursor.execute(self._sql(sql), params or {})
        row = self._cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in self._cursor.description], row, strict=True))

    def all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._sql(sql), params or {})
        return list(self._cursor.fetchall())


def _rollback(raw: Any) -> None:
    try:
        raw.rollback()
    except Exception:  # the connection may already be broken; the pool copes with that
        return


def _is_integrity(orig: BaseException | None) -> bool:
    return orig is not None and any(c.__name__ == "IntegrityError" for c in type(orig).__mro__)


def _prepare_private_file(path: Path) -> None:
    """Create the store file's directory (0700) and the file itself (0600) before SQLite opens it.

    SQLite creates its ``-wal`` and ``-shm`` files with the mode of the database file, so they are
    0600 too. An existing store file (and its ``-wal``/``-shm``) with group or other bits is
    tightened to 0600 when this user owns it, and so is ``$SSM_LOCAL_HOME`` itself to 0700 (see
    docs/decisions.md, "Security"). Raises ``StoreError`` (``StoreUnavailable``) when the directory
    or the file cannot be created.
    """
    try:
        make_private_directory(path.parent)
    except OSError as exc:
        raise StoreError(
            f"cannot create the store directory {exc.filename or path.parent}: "
            f"{exc.strerror or exc}",
            code="StoreUnavailable",
        ) from None
    try:
        home = ssm_local_home()
        if path.parent.resolve() == home.resolve():
            _tighten(home, HOME_MODE)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))
        except FileExistsError:
            for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                _tighten(existing, FILE_MODE)
    except OSError as exc:
        raise StoreError(f"cannot create the store {path}: {exc.strerror or exc}",
                         code="StoreUnavailable") from None


def _tighten(path: Path, mode: int) -> None:
    """Take group and other bits off ``path`` when this user owns it; warn that it was needed."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid != os.getuid() or not stat.S_IMODE(info.st_mode) & 0o077:
        return
    _log.warning("ssm-local: %s was mode %o, readable by other users; set to %o",
                 path, stat.S_IMODE(info.st_mode), mode)
    os.chmod(path, mode)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module, so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives the process being killed (the WAL write has
        # reached the OS); only a power loss can drop the last commits. See docs/decisions.md.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

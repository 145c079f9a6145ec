"""A local key ring standing in for AWS KMS: AES-256-GCM keys that encrypt SecureString values.

The default key, ``alias/aws/ssm``, is made on first use and kept with any keys you create in
``$SSM_LOCAL_HOME/keyring.json`` (mode 0600). Adding a key is serialized across processes by an
``flock`` on ``keyring.json.lock`` beside it: under the lock the file is re-read, the key added to
what it holds, and the file replaced atomically (a 0600 temporary file, fsynced, ``os.replace``),
so processes never erase each other's keys. ``SSM_LOCAL_KEYRING`` names another file (share one
between machines that share a PostgreSQL store) and ``SSM_LOCAL_KMS_KEY`` (32 bytes, base64)
supplies the default key's material directly, for containers and CI; that material is never
written to the file. A ciphertext records which key made it and is bound to an encryption context
(the parameter's name), so a value copied onto another parameter does not decrypt. Nothing in
this module logs or repeats a plaintext or key material.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ssm_local.engine.store.database import make_private_directory
from ssm_local.grammar.errors import ApiError

DEFAULT_ALIAS = "alias/aws/ssm"
KEYRING_FILE = "keyring.json"
_FORMAT = 1
_NONCE = 12


class KeyRingError(ApiError):
    """A key id is unknown or a ciphertext cannot be decrypted."""

    code = "InvalidKeyId"


@dataclass(frozen=True)
class Key:
    """One AES-256 key: its id (a UUID, as KMS key ids are) and its material."""

    key_id: str
    material: bytes
    created: float

    def __repr__(self) -> str:  # never show the material
        return f"Key({self.key_id!r})"


class KeyRing:
    """Keys by id and by alias, persisted in one JSON file (or given by environment)."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        default_material: bytes | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> None:
        self.path = path
        self.region = region
        self.account_id = account_id
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {}
        self._aliases: dict[str, str] = {}
        self._loaded = False
        if default_material is not None:
            if len(default_material) != 32:
                raise KeyRingError("the default key must be 32 bytes (AES-256)", code="InvalidKeyId")
            key_id = str(uuid.UUID(bytes=hashlib.sha256(default_material).digest()[:16], version=4))
            self._keys[key_id] = Key(key_id, default_material, 0.0)
            self._aliases[DEFAULT_ALIAS] = key_id

    @classmethod
    def from_environment(
        cls,
        home: Path,
        environ: Mapping[str, str] | None = None,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> KeyRing:
        """The key ring that ``SSM_LOCAL_KEYRING`` / ``SSM_LOCAL_KMS_KEY`` / the home describe
        (``environ`` defaults to ``os.environ``). Raises ``KeyRingError`` InvalidKeyId when
        ``SSM_LOCAL_KMS_KEY`` is not base64 of 32 bytes."""
        env = os.environ if environ is None else environ
        material = None
        if env.get("SSM_LOCAL_KMS_KEY"):
            try:
                material = base64.b64decode(env["SSM_LOCAL_KMS_KEY"], validate=True)
            except (binascii.Error, ValueError):
                raise KeyRingError(
                    "SSM_LOCAL_KMS_KEY is not base64", code="InvalidKeyId"
                ) from None
        path = Path(env["SSM_LOCAL_KEYRING"]).expanduser() if env.get("SSM_LOCAL_KEYRING") else (
            home / KEYRING_FILE
        )
        return cls(path, default_material=material, region=region, account_id=account_id)

    # -- keys -------------------------------------------------------------------------------

    def _read_file(self) -> tuple[dict[str, Key], dict[str, str]]:
        """The keys and aliases in the file now (empty when there is no file)."""
        if self.path is None or not self.path.exists():
            return {}, {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            keys = {
                key_id: Key(key_id, base64.b64decode(entry["material"]), float(entry["created"]))
                for key_id, entry in data.get("keys", {}).items()
            }
            aliases = {str(alias): str(key_id) for alias, key_id in data.get("aliases", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyRingError(
                f"the key ring at {self.path} cannot be read ({type(exc).__name__})",
                code="KeyRingUnreadable",
            ) from None
        return keys, aliases

    def _merge(self, keys: dict[str, Key], aliases: dict[str, str]) -> None:
        """Add what the file holds to the cache; the environment's default key keeps its alias."""
        for key_id, key in keys.items():
            self._keys.setdefault(key_id, key)
        for alias, key_id in aliases.items():
            self._aliases.setdefault(alias, key_id)

    def _load(self, *, again: bool = False) -> None:
        if self._loaded and not again:
            return
        self._loaded = True
        self._merge(*self._read_file())

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Hold an exclusive ``flock`` on ``<key ring>.lock`` (beside the file): every process
        that adds a key does it under this lock, so none rewrites the file from a stale copy."""
        assert self.path is not None
        make_private_directory(self.path.parent)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write_file(self, keys: dict[str, Key], aliases: dict[str, str]) -> None:
        """Replace the file atomically: a 0600 temporary file in the same directory, fsynced,
        then ``os.replace``; a reader sees the old file or the new one, never a part."""
        assert self.path is not None
        data = {
            "format": _FORMAT,
            "keys": {
                k.key_id: {"material": base64.b64encode(k.material).decode(), "created": k.created}
                for k in keys.values()
            },
            "aliases": aliases,
        }
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _add(self, alias: str | None) -> Key:
        """Make a key (under ``alias`` if given) and persist it: under the file lock, re-read the
        file, add the key to what it holds and replace it. The default alias already on file is
        taken instead of a new key; any other alias already on file raises AlreadyExistsException.
        Keys given by the environment (``SSM_LOCAL_KMS_KEY``) are never written to the file."""
        key = Key(str(uuid.uuid4()), AESGCM.generate_key(bit_length=256), time.time())
        if self.path is None:
            self._keys[key.key_id] = key
            if alias is not None:
                self._aliases[alias] = key.key_id
            return key
        with self._file_lock():
            keys, aliases = self._read_file()
            if alias is not None and alias in aliases:
                self._merge(keys, aliases)
                if alias == DEFAULT_ALIAS and aliases[alias] in keys:
                    return keys[aliases[alias]]
                raise KeyRingError(f"alias {alias} already exists", code="AlreadyExistsException")
            keys[key.key_id] = key
            if alias is not None:
                aliases[alias] = key.key_id
            self._write_file(keys, aliases)
        self._merge(keys, aliases)
        return key

    def create_key(self, alias: str | None = None) -> str:
        """Make a new key (optionally under ``alias/NAME``) and return its id (a UUID). Safe
        against other threads and processes creating keys in the same key ring at once.

        Raises ``KeyRingError`` InvalidKeyId (an alias not of the form ``alias/NAME``, or under
        ``alias/aws/``), AlreadyExistsException (the alias is taken), KeyRingUnreadable.
        """
        with self._lock:
            self._load()
            if alias is not None:
                if not alias.startswith("alias/") or alias.startswith("alias/aws/"):
                    raise KeyRingError(f"alias {alias!r} must look like alias/NAME, not alias/aws/...")
                if alias in self._aliases:
                    raise KeyRingError(f"alias {alias} already exists", code="AlreadyExistsException")
            return self._add(alias).key_id

    def _default(self) -> Key:
        key_id = self._aliases.get(DEFAULT_ALIAS)
        if key_id is not None and key_id in self._keys:
            return self._keys[key_id]
        # First use: make the default key, unless another process has made it meanwhile.
        self._load(again=True)
        key_id = self._aliases.get(DEFAULT_ALIAS)
        if key_id is not None and key_id in self._keys:
            return self._keys[key_id]
        return self._add(DEFAULT_ALIAS)

    def resolve(self, key_id: str | None) -> Key:
        """The key a KeyId names: a UUID, ``alias/NAME``, or a KMS key or alias ARN; None and
        ``alias/aws/ssm`` name the default key, made on first use.

        Raises ``KeyRingError`` InvalidKeyId (no such key or alias, an ARN that is not KMS's),
        KeyRingUnreadable (the key ring file cannot be read).
        """
        with self._lock:
            self._load()
            if key_id is None or key_id == DEFAULT_ALIAS:
                return self._default()
            ref = key_id
            if ref.startswith("arn:"):
                parts = ref.split(":", 5)
                if len(parts) != 6 or parts[2] != "kms":
                    raise KeyRingError(f"{key_id} is not a KMS key or alias ARN")
                ref = parts[5]
                if ref.startswith("key/"):
                    ref = ref[len("key/"):]
            if ref == DEFAULT_ALIAS:
                return self._default()
            if ref.startswith("alias/"):
                target = self._aliases.get(ref)
                if target is None:
                    self._load(again=True)
                    target = self._aliases.get(ref)
                if target is None or target not in self._keys:
                    raise KeyRingError(f"no key with alias {ref} in the key ring")
                return self._keys[target]
            if ref not in self._keys:
                self._load(again=True)
            if ref not in self._keys:
                raise KeyRingError(f"no key with id {ref} in the key ring")
            return self._keys[ref]

    # -- encryption -------------------------------------------------------------------------

    def encrypt(self, plaintext: str, key_id: str | None, context: str) -> str:
        """Encrypt ``plaintext`` under the named key, bound to ``context``; base64 out.
        Raises the errors of ``resolve``."""
        key = self.resolve(key_id)
        nonce = secrets.token_bytes(_NONCE)
        sealed = AESGCM(key.material).encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        ident = key.key_id.encode("ascii")
        blob = bytes([_FORMAT, len(ident)]) + ident + nonce + sealed
        return base64.b64encode(blob).decode("ascii")

    def decrypt(self, ciphertext: str, context: str) -> str:
        """The plaintext of a value made by ``encrypt`` with the same ``context``. Raises
        ``KeyRingError`` InvalidCiphertext (not such a value, or another context), and the
        errors of ``resolve``."""
        try:
            blob = base64.b64decode(ciphertext, validate=True)
            if blob[0] != _FORMAT:
                raise ValueError("unknown ciphertext format")
            size = blob[1]
            key_id = blob[2 : 2 + size].decode("ascii")
            nonce = blob[2 + size : 2 + size + _NONCE]
            sealed = blob[2 + size + _NONCE :]
        except (binascii.Error, ValueError, IndexError):
            raise KeyRingError(
                "a SecureString value in the store is not a ciphertext this key ring made",
                code="InvalidCiphertext",
            ) from None
        key = self.resolve(key_id)
        try:
            return AESGCM(key.material).decrypt(nonce, sealed, context.encode()).decode("utf-8")
        except InvalidTag:
            raise KeyRingError(
                f"a SecureString value does not decrypt with key {key_id}",
                code="InvalidCiphertext",
            ) from None

"""The tag calls of Parameter Store: AddTagsToResource, RemoveTagsFromResource, ListTagsForResource.

``ParameterTags`` is the part of ``ParameterStore`` that answers the three calls for
ResourceType ``Parameter``. Tags live in ``resource_tags`` beside the documents' tags; a name
that is not a live parameter (or not a parameter name at all) is InvalidResourceId, as AWS
answers for tagging calls, rather than ParameterNotFound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from ssm_local.engine.services import parameter_rules as rules
from ssm_local.engine.services.parameter_rules import fail
from ssm_local.engine.store.tables import TagRow

if TYPE_CHECKING:
    from ssm_local.engine.store import Store

TAGS: sa.Table = TagRow.__table__  # type: ignore[attr-defined]
T = TypeVar("T")


class ParameterTags:
    """Mixed into ``ParameterStore``: the tag calls for parameters."""

    store: Store
    region: str
    account_id: str

    def _write(self, attempt: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    def _live_row(
        self, conn: Connection, name: str, *, lock: bool = False, code: str = "ParameterNotFound"
    ) -> Row[Any]:
        raise NotImplementedError

    def add_tags_to_resource(self, name: str, tags: list[dict[str, str]]) -> None:
        """AddTagsToResource for ResourceType ``Parameter``: add ``tags``
        (``[{"Key", "Value"}]``) or replace the values of keys already there.

        Raises ValidationException (a bad or reserved key, a bad value, a key given twice),
        InvalidResourceId (no such parameter, or not a parameter name), TooManyTagsError (more
        than 50 tags in all), TooManyUpdates.
        """
        checked = rules.check_tags(tags)
        name = self._tag_target(name)

        def attempt(conn: Connection) -> None:
            stored = self._live_row(conn, name, lock=True, code="InvalidResourceId").name
            keys = [k for k, _ in checked]
            existing = set(
                conn.execute(
                    sa.select(TAGS.c.key).where(
                        TAGS.c.resource_type == "Parameter", TAGS.c.resource_id == stored
                    )
                ).scalars()
            )
            if len(existing | set(keys)) > rules.MAX_TAGS:
                raise fail("TooManyTagsError", f"A parameter may have at most {rules.MAX_TAGS} tags.")
            conn.execute(
                TAGS.delete().where(
                    TAGS.c.resource_type == "Parameter",
                    TAGS.c.resource_id == stored,
                    TAGS.c.key.in_(keys),
                )
            )
            if checked:
                conn.execute(
                    TAGS.insert(),
                    [
                        {"resource_type": "Parameter", "resource_id": stored, "key": k, "value": v}
                        for k, v in checked
                    ],
                )

        self._write(attempt)

    def remove_tags_from_resource(self, name: str, tag_keys: list[str]) -> None:
        """RemoveTagsFromResource for ResourceType ``Parameter``: drop the tags with these
        keys (keys not present are ignored). Raises InvalidResourceId, TooManyUpdates."""
        name = self._tag_target(name)

        def attempt(conn: Connection) -> None:
            stored = self._live_row(conn, name, lock=True, code="InvalidResourceId").name
            conn.execute(
                TAGS.delete().where(
                    TAGS.c.resource_type == "Parameter",
                    TAGS.c.resource_id == stored,
                    TAGS.c.key.in_(tag_keys),
                )
            )

        self._write(attempt)

    def list_tags_for_resource(self, name: str) -> list[dict[str, str]]:
        """ListTagsForResource for ResourceType ``Parameter``: the ``TagList``,
        ``[{"Key", "Value"}]`` sorted by key. Raises InvalidResourceId."""
        name = self._tag_target(name)
        with self.store.read() as conn:
            stored = self._live_row(conn, name, code="InvalidResourceId").name
            rows = conn.execute(
                sa.select(TAGS.c.key, TAGS.c.value)
                .where(TAGS.c.resource_type == "Parameter", TAGS.c.resource_id == stored)
                .order_by(TAGS.c.key)
            ).all()
        return [{"Key": r.key, "Value": r.value} for r in rows]

    def _tag_target(self, name: str) -> str:
        try:
            return rules.check_name(
                name, region=self.region, account_id=self.account_id, for_write=False
            )
        except rules.ParameterStoreError:
            raise fail("InvalidResourceId", f"{name!r} is not a parameter name.") from None

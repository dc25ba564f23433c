"""Secrets in resources: every response shows a stored secret as ********, and a change
or a test that sends ******** back keeps the stored one, but only for the destination it
was stored for, so that a stored password never follows a new host."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import BadRequest

MASK = "********"


def check_kept_secrets(kept: Sequence[str], destination: object,
                       stored_destination: object, parts: str) -> None:
    """BadRequest when stored secrets (`kept`: the names of those sent back as ********,
    or left out) would go anywhere but where they were stored for. `destination` and
    `stored_destination` are compared as they are; `parts` names what they are made of."""
    if kept and destination != stored_destination:
        raise BadRequest(
            f"{' and '.join(kept)} must be sent again (not as {MASK}): the {parts} changed, "
            "and a stored secret goes only to the destination it was stored for")

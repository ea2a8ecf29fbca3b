"""Request bodies as JSON, with no key repeated anywhere in them.

`{"scopes": ["zones:read"], "scopes": ["global"]}` is valid JSON, and every
common parser keeps the last value: a pasted or generated body would quietly
widen a token. A repeated key is refused instead (422 `invalid_request`
naming it, tokens.api.errors), on every route that reads a body: ninja's
(the NinjaAPI's `parser`) and the leak report's own (tokens.api.leaks).

The standard library's decoder is kept (ninja's default): what it accepts and
refuses is unchanged, lone surrogates included (the schemas refuse them, 422).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser


class RepeatedKeyError(ValueError):
    """A JSON object names `key` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"The key “{key}” appears more than once in an object of the body.")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise RepeatedKeyError(key)
        found[key] = value
    return found


def json_loads(body: bytes | str) -> Any:
    """`body` as JSON (ValueError when it is not); RepeatedKeyError for a repeated key."""
    return json.loads(body, object_pairs_hook=_unique_keys)


class StrictJsonParser(Parser):
    """ninja's parser, refusing repeated keys.

    ninja answers any parser error with its own 400 and keeps the error as the
    cause; tokens.api.errors turns a RepeatedKeyError cause into the 422.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        return json_loads(request.body)

"""The OpenAPI document at /api/v1/openapi.json: a contract generated clients can use (SPEC 7).

ninja writes it from the routes and their schemas; this adds what ninja cannot
say per route: the answers every route can give (tokens.api.answers.EVERY_ROUTE),
the headers of each answer, and three rewrites over the whole document:

- `const` becomes a one-value `enum` (pydantic writes a one-value `Literal` as
  `const`; openapi-python-client's generated parsers raise on a `const` inside
  `anyOf` instead of trying the next type);
- every enum of strings names its members as Keyward does (`x-enum-varnames`:
  `zones:read` is `ZONES_READ`, as in tokens.permissions.Scope);
- every string that refuses NUL and lone surrogates (schemas.Text) says so in
  its description.
"""

from __future__ import annotations

import re
from http.client import responses as reasons
from typing import Any

from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from tokens.api.answers import ACCEPTED_SCOPES, CACHE_CONTROL, EVERY_ROUTE, Header
from tokens.api.schemas import STORABLE_NOTE, STORABLE_PATTERN

# The answers of an account route that come after authorize(), which names the accepted
# scopes (tokens.api.access): success, and its refusals (403, 404) and invalid input (422).
_AFTER_AUTHORIZE = {403, 404, 422}


class KeywardOpenAPI(OpenAPISchema):
    """ninja's document, with every route's statuses and headers, enums for consts."""

    def __init__(self, api: Any, path_prefix: str) -> None:
        self.headers: dict[str, Header] = {}  # the components' headers, filled by responses()
        super().__init__(api, path_prefix)
        _rewrite(self)

    def responses(self, operation: Operation) -> dict[int, Any]:
        result = super().responses(operation)
        # ninja wraps each declared model in a one-field model of its own, `response`.
        models = {
            **EVERY_ROUTE,
            **{
                status: None if wrapped is None else wrapped.model_fields["response"].annotation
                for status, wrapped in operation.response_models.items()
            },
        }
        for status, model in EVERY_ROUTE.items():
            if status not in result:
                wrapped = operation._create_response_model(model)
                assert wrapped is not None  # EVERY_ROUTE's answers have a body
                # As ninja documents its own response models (typed for parameter models).
                schema = self._create_schema_from_model(wrapped, mode="serialization")[0]  # type: ignore[type-var]
                result[status] = {
                    "description": reasons[status],
                    "content": {self.api.renderer.media_type: {"schema": schema}},
                }
        account_route = "account_id}" in operation.path
        for status, answer in result.items():
            model = models[status]
            headers = [CACHE_CONTROL, *getattr(model, "HEADERS", ())]
            if account_route and (status < 300 or status in _AFTER_AUTHORIZE):
                headers.append(ACCEPTED_SCOPES)
            answer["headers"] = {header.name: self._header_ref(header) for header in headers}
        return dict(sorted(result.items()))

    def _header_ref(self, header: Header) -> dict[str, str]:
        known = self.headers.setdefault(header.key, header)
        assert known == header, f"two headers named {header.key!r}"
        return {"$ref": f"#/components/headers/{header.key}"}

    def get_components(self) -> dict[str, Any]:
        components = super().get_components()
        components["headers"] = {key: header.openapi() for key, header in self.headers.items()}
        return components

    def add_schema_definitions(self, definitions: dict) -> None:
        """ninja keeps one schema per name: two different shapes of one name would overwrite
        each other silently (an enum `Kind` of tokens and one of purges, say)."""
        for name, schema in definitions.items():
            known = self.schemas.get(name)
            assert known is None or known == schema, f"two schemas named {name!r}"
        super().add_schema_definitions(definitions)


def _member_name(value: str) -> str:
    return re.sub(r"\W+", "_", value).strip("_").upper()


def _rewrite(node: Any) -> None:
    """`const` as a one-value `enum`, enums' member names, NUL-free strings described as such
    (module docstring)."""
    if isinstance(node, dict):
        if "const" in node:
            node["enum"] = [node.pop("const")]
        values = node.get("enum", ())
        if values and all(isinstance(value, str) for value in values):
            names = [_member_name(value) for value in values]
            assert len(set(names)) == len(names), f"enum members named alike: {values}"
            node["x-enum-varnames"] = names
        if node.get("pattern") == STORABLE_PATTERN:
            described = node.get("description", "").rstrip()
            node["description"] = f"{described} {STORABLE_NOTE}".strip()
        for value in node.values():
            _rewrite(value)
    elif isinstance(node, list):
        for value in node:
            _rewrite(value)

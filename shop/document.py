"""The shop's OpenAPI 3.1 document, written by FastAPI from the routes and their pydantic models."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute

from protocol.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_S

from .operations import REQUEST_BODIES

OPENAPI_PATH = "/openapi.json"
TITLE = "medcam-console embedded shop"
DESCRIPTION = (
    "A Medusa v2-compatible Admin API subset and the seed's /demo status-callback route. "
    "Errors are {type, message} (Medusa) on /admin and {success: false, error} on /demo. "
    "Requests are rate limited per client address (429 with Retry-After) and bodies are "
    "limited in size (413)."
)
TAGS = [
    {"name": "service", "description": "Probes and this document"},
    {"name": "callback", "description": "The seed's workflow status callback"},
    {"name": "admin", "description": "Medusa v2 Admin API subset"},
    {"name": "auth", "description": "Medusa v2 admin login (email and password)"},
    {"name": "demo", "description": "Demo fault injection (the embedded shop only)"},
]
SECURITY_SCHEMES = {
    "basicAuth": {
        "type": "http", "scheme": "basic",
        "description": "The secret API key as user name, empty password",
    },
    "bearerAuth": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "The secret API key, or a token from POST /auth/user/emailpass "
        "(the only one /auth/token/refresh takes)",
    },
    "callbackSignature": {
        "type": "apiKey", "in": "header", "name": SIGNATURE_HEADER,
        "description": "v1=<hex HMAC-SHA256 of timestamp + '.' + raw body>",
    },
    "callbackTimestamp": {
        "type": "apiKey", "in": "header", "name": TIMESTAMP_HEADER,
        "description": f"Unix seconds; within ±{TOLERANCE_S} s of the shop's clock",
    },
}


def describe(routes: Sequence[BaseRoute]) -> dict:
    """The document for ``routes``: FastAPI's paths and answer schemas, plus the request bodies
    the handlers validate themselves (``operations.request_body``) and the security schemes."""
    document = get_openapi(
        title=TITLE, version="1.0.0", openapi_version="3.1.0", description=DESCRIPTION,
        routes=routes, tags=TAGS, servers=[{"url": "/"}],
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, bodies = models_json_schema(
        [(model, "validation") for model in REQUEST_BODIES.values()],
        ref_template="#/components/schemas/{model}",
    )
    for name, schema in bodies.get("$defs", {}).items():
        if schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name}")
    for schema in schemas.values():
        _absent_is_no_default(schema)
    components["schemas"] = dict(sorted(schemas.items()))
    components["securitySchemes"] = SECURITY_SCHEMES
    return document


def _absent_is_no_default(schema: dict) -> None:
    """A field whose default is None but that refuses null may only be left out: no default."""
    for field in schema.get("properties", {}).values():
        nullable = field.get("type") == "null" or any(
            option.get("type") == "null" for option in field.get("anyOf", [])
        )
        if field.get("default", ...) is None and not nullable and field != {"default": None}:
            del field["default"]

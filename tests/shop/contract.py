"""Checks a live answer against the shop's OpenAPI document: documented status, valid body."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC_URI = "urn:medcam-shop:openapi"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: dict


class Contract:
    """The document's operations, matched by method and concrete path."""

    def __init__(self, document: dict) -> None:
        self.document = document
        resource = Resource(contents=document, specification=DRAFT202012)
        self._registry = Registry().with_resource(DOC_URI, resource)
        self._paths = [
            (re.compile("^" + re.sub(r"\{(\w+)\}", r"[^/]+", template) + "$"), template, item)
            for template, item in document["paths"].items()
        ]
        self._validators: dict[str, Draft202012Validator] = {}

    def operations(self) -> list[Operation]:
        return [
            Operation(method.upper(), template, spec)
            for _, template, item in self._paths
            for method, spec in item.items()
        ]

    def match(self, method: str, path: str) -> tuple[Operation | None, bool]:
        """The operation for ``method path``; the flag says whether the path is documented."""
        for pattern, template, item in self._paths:
            if pattern.match(path):
                spec = item.get("get" if method == "HEAD" else method.lower())
                return (Operation(method, template, spec) if spec else None), True
        return None, False

    def validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            self._validators[pointer] = Draft202012Validator(
                {"$ref": f"{DOC_URI}#{pointer}"}, registry=self._registry
            )
        return self._validators[pointer]

    def problems(self, method: str, path: str, response: httpx.Response) -> list[str]:
        """Why ``response`` does not follow the document (empty when it does)."""
        operation, known = self.match(method, path)
        if operation is None:
            expected = 405 if known else 404
            if response.status_code not in (expected, 413, 429, 401):
                return [f"undocumented {method} {path} answered {response.status_code}"]
            return []
        answers = operation.spec["responses"]
        code = str(response.status_code)
        if code not in answers:
            return [f"{method} {operation.template} answered undocumented {code}: {response.text[:200]}"]
        if method == "HEAD":
            return []
        content = answers[code].get("content", {})
        media = response.headers.get("content-type", "").split(";")[0]
        if media not in content:
            return [f"{method} {operation.template} {code} has content-type {media!r}"]
        if media != "application/json":
            return []
        pointer = (
            "/paths/" + operation.template.replace("~", "~0").replace("/", "~1")
            + f"/{method.lower()}/responses/{code}/content/application~1json/schema"
        )
        errors = list(self.validator(pointer).iter_errors(response.json()))
        return [
            f"{method} {operation.template} {code}: {error.message} at {list(error.absolute_path)}"
            for error in errors[:3]
        ]

"""The part of JSON Schema (draft-07) the JetBrains template's schemas use, as a validator.

`jsonschema` is not a dependency of autan, and the two schemas need little: `type`,
`properties`, `required`, `additionalProperties`, `items`, `minItems`, `minLength`,
`minProperties`. A schema using any other keyword is refused, so no rule is silently
skipped.
"""

from __future__ import annotations

from typing import Any

ANNOTATIONS = {"$schema", "title", "description", "default"}
KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "minItems",
            "minLength", "minProperties"} | ANNOTATIONS
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Every way `value` breaks `schema`, as `path: reason` lines (empty: valid)."""
    unknown = set(schema) - KEYWORDS
    if unknown:
        raise ValueError(f"{where}: schema keywords not supported here: {sorted(unknown)}")
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(TYPES[k](value) for k in kinds):
            return [f"{where}: expected {' or '.join(kinds)}, got {value!r}"]
    found: list[str] = []
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        found.append(f"{where}: shorter than {schema['minLength']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            found.append(f"{where}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                found += errors(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, dict):
        found += object_errors(value, schema, where)
    return found


def object_errors(value: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    found = [f"{where}: missing {key!r}" for key in schema.get("required", ())
             if key not in value]
    if len(value) < schema.get("minProperties", 0):
        found.append(f"{where}: fewer than {schema['minProperties']} keys")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        path = f"{where}.{key}"
        if key in properties:
            found += errors(item, properties[key], path)
        elif extra is False:
            found.append(f"{path}: not allowed")
        elif isinstance(extra, dict):
            found += errors(item, extra, path)
    return found

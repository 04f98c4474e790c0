"""The LINE OpenAPI document: loading, routing by path + method, JSON-schema validation.

Used when ``messaging-api.yml`` (line/line-openapi) is available: ``$LINE_SPECS_DIR`` or
``<repo parent>/shared/specs/line``. Without it, :mod:`emulators.line.sdk_models`
validates against the SDK's generated request models instead.
"""
from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

__all__ = ["Operation", "SpecIndex", "build_json_schema_defs", "default_spec_dir"]

_REF_PREFIX = "#/components/schemas/"
def default_spec_dir() -> Path:
    """Directory holding ``messaging-api.yml`` / ``webhook.yml``.

    ``$LINE_SPECS_DIR`` if set, else ``<repo parent>/shared/specs/line`` (the layout of
    both the dev machine and CI).
    """
    env = os.environ.get("LINE_SPECS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "specs" / "line"


# ======================================================================================
# OpenAPI handling
# ======================================================================================


def _load_yaml(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, "rb") as fh:
        return yaml.load(fh, Loader=loader)


def build_json_schema_defs(schemas: dict[str, Any]) -> dict[str, Any]:
    """Convert OpenAPI 3.0 ``components.schemas`` into JSON Schema 2020-12 ``$defs``.

    * ``$ref: #/components/schemas/X`` becomes ``#/$defs/X``;
    * ``nullable: true`` becomes a ``"null"`` alternative of ``type``;
    * every schema ``S`` with a ``discriminator`` gets a companion ``S__dispatch``:
      it validates ``S`` itself and then, for each ``mapping`` value of the
      discriminator property, the mapped sub-schema (``if``/``then``); an unknown
      value is rejected. References to ``S`` are pointed at ``S__dispatch``, except
      the ``allOf: [$ref S]`` by which a mapped sub-schema inherits from ``S`` (that
      one must stay on the plain base, or validation would recurse forever).
    """
    discriminated: dict[str, dict[str, str]] = {}
    for name, schema in schemas.items():
        disc = schema.get("discriminator") if isinstance(schema, dict) else None
        if disc and disc.get("mapping"):
            discriminated[name] = {
                value: ref[len(_REF_PREFIX):] for value, ref in disc["mapping"].items()
            }
    # sub-schema name -> bases it inherits from through allOf
    parents: dict[str, set[str]] = {}
    for base, mapping in discriminated.items():
        for target in mapping.values():
            parents.setdefault(target, set()).add(base)

    def convert(node: Any, owner: str, top_all_of: bool) -> Any:
        if isinstance(node, list):
            return [convert(item, owner, top_all_of) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                target = value[len(_REF_PREFIX):]
                if target in discriminated and not (top_all_of and target in parents.get(owner, ())):
                    out[key] = f"#/$defs/{target}__dispatch"
                else:
                    out[key] = f"#/$defs/{target}"
            elif key == "discriminator":
                continue
            elif key == "allOf" and top_all_of is None:
                # only the owner's own top-level allOf carries inheritance
                out[key] = [convert(item, owner, True) for item in value]
            else:
                out[key] = convert(value, owner, False)
        if node.get("nullable") is True and "type" in out:
            out["type"] = [out["type"], "null"]
            out.pop("nullable", None)
        return out

    defs: dict[str, Any] = {}
    for name, schema in schemas.items():
        defs[name] = convert(schema, name, None)  # type: ignore[arg-type]
    for name, mapping in discriminated.items():
        prop = schemas[name]["discriminator"]["propertyName"]
        branches: list[dict[str, Any]] = [{"$ref": f"#/$defs/{name}"}]
        for value, target in mapping.items():
            branches.append({
                "if": {"properties": {prop: {"const": value}}, "required": [prop]},
                "then": {"$ref": f"#/$defs/{target}"},
            })
        branches.append({"properties": {prop: {"enum": sorted(mapping)}}})
        defs[f"{name}__dispatch"] = {"allOf": branches}
    return defs


@dataclass(frozen=True)
class Operation:
    """One operation of the OpenAPI document."""

    operation_id: str
    method: str
    path_template: str
    regex: re.Pattern[str]
    request_schema: str | None  # name in components.schemas, if the body is a JSON $ref


class SpecIndex:
    """Operations and cached body validators of an OpenAPI document.

    Load once per file with :meth:`load` (cached); validators are compiled lazily,
    once per schema name, and reused for every request.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.defs = build_json_schema_defs(document.get("components", {}).get("schemas", {}))
        self._validators: dict[str, Draft202012Validator] = {}
        self._lock = threading.Lock()
        self.operations: dict[str, Operation] = {}
        literal: dict[tuple[str, str], Operation] = {}
        templated: list[Operation] = []
        for path, item in document.get("paths", {}).items():
            for method, op in item.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                schema_name = None
                content = (op.get("requestBody") or {}).get("content") or {}
                ref = ((content.get("application/json") or {}).get("schema") or {}).get("$ref")
                if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                    schema_name = ref[len(_REF_PREFIX):]
                pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
                operation = Operation(op["operationId"], method.upper(), path, re.compile(pattern), schema_name)
                self.operations[operation.operation_id] = operation
                if "{" in path:
                    templated.append(operation)
                else:
                    literal[(operation.method, path)] = operation
        self._literal = literal
        # fewer parameters first, so "/richmenu/list" style literals win over templates
        self._templated = sorted(templated, key=lambda o: o.path_template.count("{"))

    @classmethod
    @functools.lru_cache(maxsize=8)
    def load(cls, path: str) -> "SpecIndex":
        """Parse and index the YAML document at ``path`` (cached per path)."""
        return cls(_load_yaml(Path(path)))

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        """Find the operation for ``method path``; returns ``(None, {})`` if none."""
        op = self._literal.get((method, path))
        if op is not None:
            return op, {}
        for op in self._templated:
            if op.method != method:
                continue
            m = op.regex.match(path)
            if m:
                return op, m.groupdict()
        return None, {}

    def validator(self, schema_name: str) -> Draft202012Validator:
        """The (cached) validator of ``components.schemas[schema_name]``."""
        v = self._validators.get(schema_name)
        if v is None:
            with self._lock:
                v = self._validators.get(schema_name)
                if v is None:
                    name = f"{schema_name}__dispatch" if f"{schema_name}__dispatch" in self.defs else schema_name
                    v = Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": self.defs})
                    self._validators[schema_name] = v
        return v

    def validate(self, schema_name: str, instance: Any) -> list[dict[str, str]]:
        """LINE-style error details (``{"message", "property"}``) of ``instance``."""
        errors = sorted(self.validator(schema_name).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        details: list[dict[str, str]] = []
        for error in errors:
            detail = _error_detail(error)
            if detail not in details:  # a base schema is checked both directly and via allOf
                details.append(detail)
        return details


def _property_path(parts: Any) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _error_detail(error: ValidationError) -> dict[str, str]:
    """Render a jsonschema error the way the LINE API words its ``details``."""
    path = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = re.match(r"'([^']+)'", error.message)
        path.append(missing.group(1) if missing else "?")
        message = "must be specified"
    elif kind in ("maxItems", "minItems"):
        sch = error.schema if isinstance(error.schema, dict) else {}
        message = f"Size must be between {sch.get('minItems', 0)} and {sch.get('maxItems', 'unbounded')}"
    elif kind in ("maxLength", "minLength"):
        sch = error.schema if isinstance(error.schema, dict) else {}
        message = f"Length must be between {sch.get('minLength', 0)} and {sch.get('maxLength', 'unbounded')}"
    elif kind == "type":
        message = f"must be of type {error.validator_value}"
    elif kind in ("enum", "const"):
        message = f"Invalid value: {error.instance!r}"
    elif kind in ("minimum", "maximum"):
        message = f"must be {'greater' if kind == 'minimum' else 'less'} than or equal to {error.validator_value}"
    else:
        message = error.message
    return {"message": message, "property": _property_path(path)}

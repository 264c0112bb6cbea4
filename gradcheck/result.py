"""Result records and the report document (its JSON schema is fixed: tools consume it)."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

STATUSES = ("passed", "failed", "skipped")
RESULT_KINDS = ("op", "module", "loss", "optimizer", "scheduler", "target")


@dataclass
class Result:
    """One check on one sample, device and dtype."""

    kind: str
    name: str
    check: str
    device: str
    dtype: str
    sample: str
    status: str
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    tolerance: float | None = None
    blame: str | None = None
    message: str | None = None
    repro: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("max_abs_err", "max_rel_err", "tolerance"):
            v = d[k]
            # JSON has no inf/nan: a non-finite error is reported as null with the message saying so
            d[k] = float(v) if v is not None and math.isfinite(v) else None
        return d

    @property
    def ratio(self) -> float:
        """How close to (or past) its tolerance this result came: err / tolerance."""
        if self.max_abs_err is None or not self.tolerance:
            return math.inf if self.status == "failed" else 0.0
        return self.max_abs_err / self.tolerance


def summary(results: list[Result], seconds: float, devices: list[str], oracle: str | None) -> dict:
    return {"passed": sum(r.status == "passed" for r in results),
            "failed": sum(r.status == "failed" for r in results),
            "skipped": sum(r.status == "skipped" for r in results),
            "seconds": float(seconds), "devices": list(devices), "oracle": oracle}


def document(results: list[Result], seconds: float, devices: list[str], oracle: str | None) -> dict:
    return {"summary": summary(results, seconds, devices, oracle), "results": [r.to_dict() for r in results]}


def write_json(path: str, doc: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


_NUM = {"type": ["number", "null"]}
_STR = {"type": ["string", "null"]}

# The report's JSON schema (draft 2020-12); ``validate`` checks the same rules without jsonschema.
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["summary", "results"],
    "properties": {
        "summary": {
            "type": "object",
            "additionalProperties": False,
            "required": ["passed", "failed", "skipped", "seconds", "devices", "oracle"],
            "properties": {
                "passed": {"type": "integer"}, "failed": {"type": "integer"}, "skipped": {"type": "integer"},
                "seconds": {"type": "number"},
                "devices": {"type": "array", "items": {"type": "string"}},
                "oracle": {"type": ["string", "null"], "pattern": "^torch "},
            },
        },
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "name", "check", "device", "dtype", "sample", "status", "max_abs_err",
                             "max_rel_err", "tolerance", "blame", "message", "repro"],
                "properties": {
                    "kind": {"enum": list(RESULT_KINDS)}, "name": {"type": "string"},
                    "check": {"type": "string"}, "device": {"type": "string"}, "dtype": {"type": "string"},
                    "sample": {"type": "string"}, "status": {"enum": list(STATUSES)},
                    "max_abs_err": _NUM, "max_rel_err": _NUM, "tolerance": _NUM,
                    "blame": _STR, "message": _STR, "repro": {"type": "string"},
                },
            },
        },
    },
}


def validate(doc: dict) -> None:
    """Raise ValueError unless ``doc`` matches SCHEMA (a dependency-free subset of JSON Schema)."""
    _check(doc, SCHEMA, "$")


def _type_ok(value, t: str) -> bool:
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return {"string": str, "array": list, "object": dict, "null": type(None)}[t] is type(value)


def _check(value, schema: dict, where: str) -> None:
    import re  # noqa: PLC0415

    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_type_ok(value, t) for t in types):
            raise ValueError(f"{where}: expected {'/'.join(types)}, got {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"{where}: {value!r} is not one of {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        raise ValueError(f"{where}: {value!r} does not match {schema['pattern']!r}")
    if isinstance(value, dict) and "properties" in schema:
        missing = [k for k in schema.get("required", ()) if k not in value]
        if missing:
            raise ValueError(f"{where}: missing {missing}")
        extra = [k for k in value if k not in schema["properties"]]
        if extra and schema.get("additionalProperties") is False:
            raise ValueError(f"{where}: unexpected keys {extra}")
        for k, sub in schema["properties"].items():
            if k in value:
                _check(value[k], sub, f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{i}]")

"""Walk a Keras model config (JSON) into layers, embedded code and name references.

Shared by the HDF5, ``.keras`` and legacy SavedModel loaders. The walk is recursive
over the whole document, so it finds layers of nested Sequential/Functional models,
of wrappers (``TimeDistributed``, ``Bidirectional``, RNN cells) and of custom layers'
sub-configs alike. A layer's path joins the names of the layers that contain it:
``model/inner_model/time_distributed/lambda_3``.

Found along the way:

* :class:`KerasLayer` for every layer (objects in layer positions, or whose config has
  a name and the base-layer keys);
* :class:`KerasCode` for every embedded function: a ``Lambda``'s ``function`` or
  ``output_shape`` (Keras 2: ``[code, defaults, closure]`` with
  ``function_type: "lambda"``; Keras 3: ``{"class_name": "__lambda__", ...}``), a
  ``__lambda__`` object anywhere, and any other string that decodes to marshalled
  code. The code string is MIME base64, with Keras's ``raw_unicode_escape``
  fallback, and is read with the bounded marshal reader, never loaded;
* :class:`KerasRef` for every ``module``/``class_name``/``registered_name`` reference
  and for a ``Lambda`` that names its function (``function_type: "function"``).

Nothing here imports Keras or runs anything from the config.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.findings import Location
from tfmodel_lint.ir import KerasCode, KerasLayer, KerasRef
from tfmodel_lint.limits import Limits, check_json
from tfmodel_lint.loaders import ArtifactProblem
from tfmodel_lint.loaders.marshal_reader import MarshalError, read_code

MALFORMED = Problem.MALFORMED

#: Deepest JSON nesting walked; deeper parts are reported, not walked.
MAX_CONFIG_DEPTH = 256
#: Strings of defaults/closure/arguments kept per embedded function.
MAX_EXTRA_STRINGS = 200
#: Keys whose values hold layers.
LAYER_KEYS = frozenset({"layers", "layer", "backward_layer", "forward_layer", "cell", "cells"})
#: Keras-internal serialized values: not references to anything.
INTERNAL_CLASSES = frozenset({
    "__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__", "__tuple__",
    "__typespec__", "__list__", "__dict__", "TensorShape", "__passive_serialization__",
})
_LAMBDA_CLASSES = frozenset({"Lambda", "keras.layers.Lambda", "keras>Lambda"})
#: Base64 of a marshalled code object starts with "4w" (type 'c' | FLAG_REF) or "Yw" ('c').
_CODE_PREFIXES = ("4w", "Yw")


def parse_json(raw: bytes | str, what: str, limits: Limits) -> Any:
    """Parse a JSON config document, bounded by ``max_config_bytes``, ``max_nesting_depth``
    and ``max_string_bytes``."""
    size = len(raw)
    if size > limits.max_config_bytes:
        raise LimitExceededError("max_config_bytes", limits.max_config_bytes, f"{what} is {size} bytes")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ArtifactError(MALFORMED, f"{what} is not UTF-8: {exc}") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise LimitExceededError("max_nesting_depth", limits.max_nesting_depth,
                                 f"{what} is nested too deeply to parse") from None
    except ValueError as exc:
        raise ArtifactError(MALFORMED, f"{what} is not valid JSON: {exc}") from None
    check_json(doc, limits, what, strings=size * (1 if isinstance(raw, bytes) else 4) > limits.max_string_bytes)
    return doc


def decode_code_string(code: str) -> tuple[bytes, str]:
    """Bytes of a Keras code string, as ``func_load`` decodes it: (data, encoding)."""
    try:
        return binascii.a2b_base64(code.encode("ascii")), "base64"
    except (UnicodeEncodeError, binascii.Error):
        return code.encode("raw_unicode_escape"), "raw_unicode_escape"


def untuple(value: object) -> object:
    """tf_keras's JSON encoding of tuples (``{"class_name": "__tuple__", "items": [...]}``)."""
    if isinstance(value, Mapping) and value.get("class_name") == "__tuple__" and isinstance(value.get("items"), list):
        return value["items"]
    return value


def _join(base: str, part: str) -> str:
    return f"{base}/{part}" if base else part


def _strings_in(value: object, out: list[str], depth: int = 0) -> None:
    if len(out) >= MAX_EXTRA_STRINGS or depth > 32:
        return
    value = untuple(value)
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, Mapping):
        for v in value.values():
            _strings_in(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _strings_in(v, out, depth + 1)


class ConfigWalker:
    """Collects layers, code and references of one or more config documents.

    Several documents may describe the same layers (a legacy SavedModel stores the
    whole model config at the root and each layer's again): results are deduplicated
    by layer path, field and content.
    """

    def __init__(self, limits: Limits, member: str | None = None) -> None:
        self.limits = limits
        self.member = member
        self.layers: list[KerasLayer] = []
        self.code: list[KerasCode] = []
        self.refs: list[KerasRef] = []
        self.problems: list[ArtifactProblem] = []
        self._seen: set[tuple[object, ...]] = set()

    def _once(self, key: tuple[object, ...]) -> bool:
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _issue(self, problem: Problem, path: str, message: str, key: str) -> None:
        if self._once(("issue", problem, path, key)):
            location = Location(layer=path or None, member=self.member)
            self.problems.append(ArtifactProblem(problem, message, location, key))

    # -- entry points ------------------------------------------------------------------

    def walk_model(self, config: object, base: str = "", field: str = "") -> str:
        """Walk a model config (``{"class_name": ..., "config": ...}``); return its path."""
        if isinstance(config, Mapping) and isinstance(config.get("class_name"), str):
            return self._object(config, base, field, 0, layer_position=True)
        self._value(config, base, field, 0, False)
        return base

    def walk_value(self, value: object, path: str, field: str) -> None:
        """Walk any other document (a training config) attached to the layer at ``path``."""
        self._value(value, path, field, 0, False)

    # -- the walk ----------------------------------------------------------------------

    def _deep(self, path: str, field: str, depth: int) -> bool:
        if depth <= MAX_CONFIG_DEPTH:
            return False
        self._issue(MALFORMED, path, f"config nested deeper than {MAX_CONFIG_DEPTH} levels at "
                    f"{field or 'top level'}: the rest of it was not checked", f"depth:{field}")
        return True

    def _value(self, value: object, path: str, field: str, depth: int, layer_position: bool) -> None:
        if self._deep(path, field, depth):
            return
        if isinstance(value, Mapping):
            if isinstance(value.get("class_name"), str):
                self._object(value, path, field, depth, layer_position)
                return
            for key, item in value.items():
                self._value(item, path, _join(field, str(key)), depth + 1, str(key) in LAYER_KEYS)
        elif isinstance(value, list):
            for item in value:
                self._value(item, path, field, depth + 1, layer_position)
        elif isinstance(value, str) and len(value) >= 40 and value.startswith(_CODE_PREFIXES):
            self._maybe_code(value, path, field)

    def _object(self, obj: Mapping[str, Any], path: str, field: str, depth: int, layer_position: bool) -> str:
        class_name: str = obj["class_name"]
        inner = obj.get("config")
        module = obj.get("module") if isinstance(obj.get("module"), str) else None
        registered = obj.get("registered_name") if isinstance(obj.get("registered_name"), str) else None
        if class_name == "__lambda__":
            self._lambda_object(inner, path, field, in_lambda_layer=False)
            return path
        own_path = path
        skip: set[str] = set()
        if class_name not in INTERNAL_CLASSES:
            is_layer = self._is_layer(class_name, inner, layer_position)
            if is_layer:
                cfg: Mapping[str, Any] = inner if isinstance(inner, Mapping) else {}
                name_value = cfg.get("name", obj.get("name"))
                segment = name_value if isinstance(name_value, str) and name_value else class_name.lower()
                own_path = _join(path, segment)
                field = ""
                if self._once(("layer", own_path, class_name)):
                    self.layers.append(KerasLayer(own_path, class_name, module, registered, cfg))
            if module or (registered and ">" in registered) or ">" in class_name:
                kind = "function" if class_name == "function" else "class"
                name = inner if kind == "function" and isinstance(inner, str) else class_name
                self._ref(own_path, field, kind, module, name, registered)
            if is_layer and class_name in _LAMBDA_CLASSES and isinstance(inner, Mapping):
                skip = self._lambda_layer(inner, own_path)
        if isinstance(inner, Mapping):
            for key, item in inner.items():
                if key in skip:
                    continue
                self._value(item, own_path, _join(field, str(key)), depth + 1, str(key) in LAYER_KEYS)
        elif isinstance(inner, list):  # Keras 2.0 Sequential: a bare list of layers
            for item in inner:
                self._value(item, own_path, field, depth + 1, True)
        for key, item in obj.items():
            if key in ("class_name", "config", "module", "registered_name", "name", "shared_object_id"):
                continue
            self._value(item, own_path, _join(field, str(key)), depth + 1, False)
        return own_path

    @staticmethod
    def _is_layer(class_name: str, inner: object, layer_position: bool) -> bool:
        if class_name in _LAMBDA_CLASSES:
            return True
        if not isinstance(inner, Mapping):
            return layer_position and isinstance(inner, list)
        if layer_position:
            return True
        return isinstance(inner.get("name"), str) and ("trainable" in inner or "layers" in inner)

    # -- references and code -----------------------------------------------------------

    def _ref(self, path: str, field: str, kind: str, module: str | None, name: object,
             registered: str | None) -> None:
        text = name if isinstance(name, str) else repr(name)[:200]
        if self._once(("ref", path, field, kind, module, text, registered)):
            self.refs.append(KerasRef(path, field, kind, module, text, registered))

    def _lambda_layer(self, cfg: Mapping[str, Any], path: str) -> set[str]:
        """A Lambda layer's function and output_shape; returns the keys handled."""
        handled: set[str] = set()
        extra: list[str] = []
        _strings_in(cfg.get("arguments"), extra)
        for key, type_key, module_key in (("function", "function_type", "module"),
                                          ("output_shape", "output_shape_type", "output_shape_module")):
            if key not in cfg:
                continue
            value = untuple(cfg[key])
            ftype = cfg.get(type_key)
            module = cfg.get(module_key) if isinstance(cfg.get(module_key), str) else None
            if value is None or (key == "output_shape" and ftype in (None, "raw") and not isinstance(value, Mapping)):
                continue  # no output_shape, or a plain shape
            handled.add(key)
            if isinstance(value, Mapping) and value.get("class_name") == "__lambda__":
                self._lambda_object(value.get("config"), path, key, in_lambda_layer=True, extra=extra)
            elif isinstance(value, Mapping) and isinstance(value.get("class_name"), str):
                mod = value.get("module") if isinstance(value.get("module"), str) else None
                reg = value.get("registered_name") if isinstance(value.get("registered_name"), str) else None
                inner = value.get("config")
                name = inner if isinstance(inner, str) else value["class_name"]
                self._ref(path, key, "lambda_function", mod, name, reg)
            elif ftype == "function" and isinstance(value, str):
                self._ref(path, key, "lambda_function", module, value, None)
            elif isinstance(value, (list, tuple)) and value:
                code, defaults, closure = (list(value) + [None, None])[:3]
                self._add_code(code, path, key, True, module, [defaults, closure], extra)
            elif isinstance(value, str):
                self._add_code(value, path, key, True, module, [cfg.get("defaults"), cfg.get("closure")], extra)
            elif key == "function":
                self._code_error(path, key, True, module, f"Lambda function of unrecognised form "
                                 f"({type(value).__name__}, function_type {ftype!r})")
        if "function" not in cfg or cfg.get("function") is None:
            self._code_error(path, "function", True, None, "Lambda layer without a function")
        return handled

    def _lambda_object(self, inner: object, path: str, field: str, in_lambda_layer: bool,
                       extra: list[str] | None = None) -> None:
        if not isinstance(inner, Mapping):
            self._code_error(path, field, in_lambda_layer, None, "__lambda__ object without a config")
            return
        if "code" in inner:
            self._add_code(inner.get("code"), path, field, in_lambda_layer, None,
                           [untuple(inner.get("defaults")), untuple(inner.get("closure"))], extra or [])
            return
        value = untuple(inner.get("value"))
        if isinstance(value, (list, tuple)) and value:
            code, defaults, closure = (list(value) + [None, None])[:3]
            self._add_code(code, path, field, in_lambda_layer, None, [defaults, closure], extra or [])
        elif isinstance(value, str):
            self._add_code(value, path, field, in_lambda_layer, None, [], extra or [])
        else:
            self._code_error(path, field, in_lambda_layer, None, "__lambda__ object without code")

    def _maybe_code(self, value: str, path: str, field: str) -> None:
        """A string elsewhere in a config that decodes to marshalled code."""
        data, encoding = decode_code_string(value)
        try:
            summary = read_code(data, max_bytes=self.limits.max_config_bytes)
        except MarshalError:
            return  # not code: an ordinary string
        self._record(path, field, False, None, encoding, data, summary, [])

    def _code_error(self, path: str, field: str, in_lambda_layer: bool, module: str | None, error: str) -> None:
        if self._once(("code", path, field, "error", error)):
            self.code.append(KerasCode(path, field, in_lambda_layer, module=module, error=error))

    def _add_code(self, code: object, path: str, field: str, in_lambda_layer: bool, module: str | None,
                  around: list[object], extra: list[str]) -> None:
        if not isinstance(code, str):
            self._code_error(path, field, in_lambda_layer, module,
                             f"function code is a {type(code).__name__}, not a string")
            self._issue(MALFORMED, path, f"Lambda code at {path} ({field}) is a {type(code).__name__}, "
                        "not a string", f"code:{field}")
            return
        data, encoding = decode_code_string(code)
        try:
            summary = read_code(data, max_bytes=self.limits.max_config_bytes)
        except MarshalError as exc:
            digest = hashlib.sha256(data).hexdigest()[:16]
            if self._once(("code", path, field, digest)):
                self.code.append(KerasCode(path, field, in_lambda_layer, encoding, len(data), module=module,
                                           error=str(exc)[:500]))
            self._issue(MALFORMED, path, f"embedded Python code at {path} ({field}, {encoding}, {len(data)} bytes) "
                        f"is malformed: {str(exc)[:300]}", f"code:{field}")
            return
        strings: list[str] = []
        for item in around:
            _strings_in(item, strings)
        self._record(path, field, in_lambda_layer, module, encoding, data, summary, strings + extra)

    def _record(self, path: str, field: str, in_lambda_layer: bool, module: str | None, encoding: str,
                data: bytes, summary: Any, extra: list[str]) -> None:
        digest = hashlib.sha256(data).hexdigest()[:16]
        if not self._once(("code", path, field, digest)):
            return
        strings = list(summary.strings)
        strings.extend(s for s in extra if s not in strings)
        strings.extend(b.decode("latin-1") for b in summary.bytes_constants[:100])
        self.code.append(KerasCode(
            path, field, in_lambda_layer, encoding, len(data), summary.python, summary.names, tuple(strings),
            summary.code_names, summary.varnames, module,
        ))


def root_name(config: object, default: str = "model") -> str:
    """The name of the model a config describes (first path segment)."""
    if isinstance(config, Mapping):
        inner = config.get("config")
        for source in (inner, config):
            if isinstance(source, Mapping) and isinstance(source.get("name"), str) and source["name"]:
                return str(source["name"])
        if isinstance(config.get("class_name"), str):
            return str(config["class_name"]).lower()
    return default

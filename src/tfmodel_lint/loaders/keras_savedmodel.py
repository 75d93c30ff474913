"""Legacy Keras SavedModels (tf_keras ``model.save(..., save_format="tf")``).

Keras keeps each layer's config in ``keras_metadata.pb`` beside ``saved_model.pb``
(``KerasSavedMetadata``: one node per object, with its object-graph path and a
metadata JSON holding ``class_name``/``config``), and older TensorFlow versions kept
the same JSON in the object graph's user objects (``SavedUserObject.metadata``). Both
are read; the root node's config covers the whole model and each layer node repeats
its own, so results are deduplicated by layer path.

Layer paths come from the object graph: a node's path is its nearest ancestor node's
layer path plus its own name (``root.layer_with_weights-0.layer-1`` under
``sequential_1/sequential``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from google.protobuf import message as pb_message

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.findings import Location
from tfmodel_lint.limits import Limits, check_json
from tfmodel_lint.loaders import ArtifactProblem, LoadContext, Loaded
from tfmodel_lint.sources import Source

if TYPE_CHECKING:
    from tfmodel_lint.loaders.keras_config import ConfigWalker

METADATA_FILE = "keras_metadata.pb"


MALFORMED = Problem.MALFORMED


def _problem(problem: Problem, member: str, message: str) -> ArtifactProblem:
    return ArtifactProblem(problem, message, Location(member=member), f"{member}:{problem.value}")


def _from_error(exc: ArtifactError | LimitExceededError, member: str) -> ArtifactProblem:
    if isinstance(exc, ArtifactError):
        return _problem(exc.problem, member, exc.message)
    return _problem(Problem.LIMIT, member, f"limit exceeded: {exc}")


def _read_metadata_file(source: Source, limits: Limits) -> list[tuple[str, str, str]]:
    from tfmodel_lint.proto import tfmodel_lint_pb2

    data = source.read(METADATA_FILE)
    msg = tfmodel_lint_pb2.KerasSavedMetadata()
    try:
        msg.ParseFromString(data)
    except (pb_message.DecodeError, RecursionError, ValueError, OverflowError) as exc:
        raise ArtifactError(MALFORMED, f"{METADATA_FILE} is not a valid KerasSavedMetadata protobuf: {exc}") from None
    return [(n.node_path, n.identifier, n.metadata) for n in msg.nodes]


def _normalize(node_path: str) -> str:
    """Object-graph paths: keras_metadata says ``root.a.b``, the object graph ``a.b``."""
    if node_path == "root":
        return ""
    return node_path[len("root."):] if node_path.startswith("root.") else node_path


def _is_layer_identifier(identifier: str) -> bool:
    return any(word in identifier for word in ("layer", "network", "sequential", "model"))


def walk_nodes(nodes: Sequence[tuple[str, str, str]], walker: ConfigWalker, limits: Limits) -> int:
    from tfmodel_lint.loaders.keras_config import root_name

    """Walk (object path, identifier, metadata JSON) nodes; returns how many were read."""
    parsed: list[tuple[str, str, dict[str, object]]] = []
    for node_path, identifier, metadata in nodes:
        if not metadata:
            continue
        if len(metadata) > limits.max_config_bytes:
            raise LimitExceededError("max_config_bytes", limits.max_config_bytes,
                                     f"Keras metadata of object {node_path or 'root'!r} is {len(metadata)} bytes")
        what = f"Keras metadata of object {node_path or 'root'!r}"
        try:
            value = json.loads(metadata)
        except RecursionError:
            raise LimitExceededError("max_nesting_depth", limits.max_nesting_depth,
                                     f"{what} is nested too deeply to parse") from None
        except ValueError as exc:
            raise ArtifactError(MALFORMED, f"{what} is not JSON: {exc}") from None
        check_json(value, limits, what, strings=4 * len(metadata) > limits.max_string_bytes)
        if isinstance(value, dict):
            parsed.append((_normalize(node_path), identifier, value))
    # Parents before children, so that every node's ancestor path is known.
    parsed.sort(key=lambda item: (item[0].count(".") if item[0] else -1, item[0], item[1]))
    layer_paths: dict[str, str] = {}
    for obj_path, identifier, meta in parsed:
        parent = obj_path
        base = ""
        while parent:
            parent = parent.rpartition(".")[0]
            if parent in layer_paths:
                base = layer_paths[parent]
                break
        if obj_path == "":
            base = ""
        # The root's metadata repeats the whole model as "model_config" (tf_keras loads
        # "config"): walked at the same base, it merges with the config's layers.
        model_config = meta.pop("model_config", None)
        if model_config is not None:
            walker.walk_model(model_config, base)
        if isinstance(meta.get("class_name"), str) and (obj_path == "" or _is_layer_identifier(identifier)):
            path = walker.walk_model(meta, base)
        else:  # metrics, optimizers, ...: attached to the nearest layer
            path = base
            walker.walk_value(meta, base, identifier.removeprefix("_tf_keras_") or "metadata")
        layer_paths[obj_path] = path or root_name(meta)
    return len(parsed)


def keras_metadata_hook(source: Source, ctx: LoadContext, loaded: Loaded) -> None:
    """Fill ``keras_layers``/``keras_code``/``keras_refs`` of a loaded SavedModel."""
    limits = ctx.limits
    file_nodes: list[tuple[str, str, str]] = []
    if source.exists(METADATA_FILE):
        try:
            file_nodes = _read_metadata_file(source, limits)
        except (ArtifactError, LimitExceededError) as exc:
            loaded.problems.append(_from_error(exc, METADATA_FILE))
    for model in loaded.models:
        graph_nodes = model.object_metadata
        if not file_nodes and not graph_nodes:
            continue
        from tfmodel_lint.loaders.keras_config import ConfigWalker  # only Keras models pay for it

        walker = ConfigWalker(limits, member=METADATA_FILE if file_nodes else None)
        sources = []
        for label, nodes in ((METADATA_FILE, file_nodes), ("object_graph", graph_nodes)):
            if not nodes:
                continue
            walker.member = METADATA_FILE if label == METADATA_FILE else "saved_model.pb"
            try:
                if walk_nodes(nodes, walker, limits):
                    sources.append(label)
            except (ArtifactError, LimitExceededError) as exc:
                loaded.problems.append(_from_error(exc, walker.member or METADATA_FILE))
        model.keras_layers = walker.layers
        model.keras_code = walker.code
        model.keras_refs = walker.refs
        model.keras_source = "+".join(sources) or None
        loaded.problems.extend(walker.problems)

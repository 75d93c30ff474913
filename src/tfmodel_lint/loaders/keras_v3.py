"""Keras 3 (and tf_keras v3-format) ``.keras`` archives: a zip with ``config.json``,
``metadata.json`` and ``model.weights.h5``.

``config.json`` and ``metadata.json`` are read through the archive's bounded member
reader; the weights are never read or extracted (an archive on disk is opened where it
lies, so memory does not grow with the weights). The zip itself is opened and checked
by :mod:`tfmodel_lint.loaders.archives`, which also lints any other model inside.
"""

from __future__ import annotations

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.loaders import LoadContext, Loaded
from tfmodel_lint.loaders.keras_config import ConfigWalker, parse_json
from tfmodel_lint.sources import Source

FORMAT = "keras_v3"


def _read_json_member(source: Source, name: str, ctx: LoadContext) -> object:
    size = source.size(name)
    if size > ctx.limits.max_config_bytes:
        raise LimitExceededError("max_config_bytes", ctx.limits.max_config_bytes, f"{name} declares {size} bytes")
    return parse_json(source.read(name), name, ctx.limits)


def load_keras_archive(source: Source, ctx: LoadContext) -> Loaded:
    """The Keras model of an archive whose top level holds ``config.json``."""
    config = _read_json_member(source, "config.json", ctx)
    if source.exists("metadata.json"):
        _read_json_member(source, "metadata.json", ctx)  # checked like the config, not used
    if not isinstance(config, dict):
        raise ArtifactError(Problem.MALFORMED, f"config.json is a JSON {type(config).__name__}, not an object")
    model = ModelIR(path=ctx.display, format=FORMAT)
    walker = ConfigWalker(ctx.limits, member="config.json")
    walker.walk_model(config, "")
    model.keras_layers = walker.layers
    model.keras_code = walker.code
    model.keras_refs = walker.refs
    model.keras_source = "config.json"
    return Loaded(FORMAT, [model], walker.problems)

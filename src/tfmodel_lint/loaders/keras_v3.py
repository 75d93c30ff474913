"""Keras 3 (and tf_keras v3-format) ``.keras`` archives: a zip with ``config.json``,
``metadata.json`` and ``model.weights.h5``.

``config.json`` and ``metadata.json`` are read in memory through the bounded member
reader; the weights are never read or extracted.
"""

from __future__ import annotations

import io
import zipfile

from tfmodel_lint.ir import ModelIR
from tfmodel_lint.limits import LimitExceededError, Limits
from tfmodel_lint.loaders import MALFORMED, ArtifactError, Loaded
from tfmodel_lint.loaders.keras_config import ConfigWalker, parse_json
from tfmodel_lint.sources import read_member

FORMAT = "keras_v3"


def _read_json_member(zf: zipfile.ZipFile, name: str, limits: Limits, budget: list[int]) -> object:
    info = zf.getinfo(name)
    if info.file_size > limits.max_config_bytes:
        raise LimitExceededError("max_config_bytes", limits.max_config_bytes, f"{name} declares {info.file_size} bytes")
    try:
        raw = read_member(zf, info, limits, budget)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ArtifactError(MALFORMED, f"cannot read {name} from the archive: {exc}") from None
    return parse_json(raw, name, limits)


def load_keras_zip(data: bytes, name: str, display: str, limits: Limits, depth: int) -> Loaded:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArtifactError(MALFORMED, f"not a valid zip archive: {exc}") from None
    if "config.json" not in names:
        raise ArtifactError(MALFORMED, "Keras archive without config.json")
    from tfmodel_lint.loaders.archives import archive_budget

    # Inside another archive, the outer archive's budget of decompressed bytes is shared.
    with archive_budget(limits, len(data)) as (budget, _size):
        config = _read_json_member(zf, "config.json", limits, budget)
        metadata = _read_json_member(zf, "metadata.json", limits, budget) if "metadata.json" in names else None
    if not isinstance(config, dict):
        raise ArtifactError(MALFORMED, f"config.json is a JSON {type(config).__name__}, not an object")
    model = ModelIR(path=display, format=FORMAT)
    if isinstance(metadata, dict):
        for key in ("keras_version", "date_saved"):
            value = metadata.get(key)
            if isinstance(value, str):
                model.meta[key] = value[:200]
    walker = ConfigWalker(limits, member="config.json")
    walker.walk_model(config, "")
    model.keras_layers = walker.layers
    model.keras_code = walker.code
    model.keras_refs = walker.refs
    model.keras_source = "config.json"
    return Loaded(FORMAT, [model], walker.issues)

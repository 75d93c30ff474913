#!/usr/bin/env python3
"""Build the TensorFlow-made benchmark inputs (needs TensorFlow and Keras 3).

    python bench/gen_tf.py OUTDIR PART...      (PART: small, keras_app, h5_weights)

small:      OUTDIR/small_savedmodel/    a tiny tf.Module classifier (tf.saved_model.save)
            OUTDIR/malicious_readfile/  looks like a classifier, reads /etc/passwd with ReadFile
keras_app:  OUTDIR/mobilenetv2/         keras.applications.MobileNetV2(weights=None) as
                                        savedmodel/ (model.export), model.keras and model.h5
h5_weights: OUTDIR/h5_weights/          one Dense layer saved as .h5 with ~1 MB
                                        (dense_1mb.h5) and ~1 GB (dense_1gb.h5) of weights

SAFETY: models are only traced and saved, never called. Never load and call
malicious_readfile: it really reads /etc/passwd.
Each part writes OUTDIR/manifest_PART.json last (sizes, TF and Keras versions).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import argparse
import json
import shutil
import sys
from pathlib import Path


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_small(out: Path) -> dict[str, object]:
    import tensorflow as tf

    class Small(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(tf.random.stateless_normal([16, 4], seed=[1, 2]), name="w")
            self.b = tf.Variable(tf.zeros([4]), name="b")

        @tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32, name="features")], autograph=False)
        def __call__(self, features):
            return {"probabilities": tf.nn.softmax(tf.matmul(features, self.w) + self.b)}

    class MaliciousReadFile(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(tf.random.stateless_normal([16, 4], seed=[3, 4]), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32, name="features")], autograph=False)
        def __call__(self, features):
            leaked = tf.io.read_file("/etc/passwd")  # traced only, never run here
            noise = tf.cast(tf.strings.length(leaked), tf.float32) * 0.0
            return {"probabilities": tf.nn.softmax(tf.matmul(features, self.w) + noise)}

    info: dict[str, object] = {}
    for name, module in (("small_savedmodel", Small()), ("malicious_readfile", MaliciousReadFile())):
        path = out / name
        shutil.rmtree(path, ignore_errors=True)
        tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})
        info[name] = {"bytes": tree_size(path), "saved_model_pb_bytes": (path / "saved_model.pb").stat().st_size}
    return info


def build_keras_app(out: Path) -> dict[str, object]:
    import keras

    base = out / "mobilenetv2"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    model = keras.applications.MobileNetV2(weights=None)
    model.export(str(base / "savedmodel"), format="tf_saved_model", verbose=False)
    model.save(str(base / "model.keras"))
    model.save(str(base / "model.h5"))
    return {
        "mobilenetv2": {
            "params": int(model.count_params()),
            "layers": len(model.layers),
            "savedmodel_bytes": tree_size(base / "savedmodel"),
            "saved_model_pb_bytes": (base / "savedmodel" / "saved_model.pb").stat().st_size,
            "keras_bytes": tree_size(base / "model.keras"),
            "h5_bytes": tree_size(base / "model.h5"),
        }
    }


def build_h5_weights(out: Path) -> dict[str, object]:
    """The same one-layer model at two widths: 512x512 (1 MiB) and 16384x16384 float32 (1 GiB)."""
    import keras
    import numpy as np

    base = out / "h5_weights"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    info: dict[str, object] = {}
    for label, width in (("dense_1mb", 512), ("dense_1gb", 16384)):
        model = keras.Sequential([keras.Input((width,)), keras.layers.Dense(width, use_bias=False, name="dense")])
        # Deterministic cheap weights (zeros would compress nothing either way: .h5 is uncompressed).
        model.layers[0].kernel.assign(np.full((width, width), 0.5, dtype="float32"))
        path = base / f"{label}.h5"
        model.save(str(path))
        info[label] = {"bytes": path.stat().st_size, "width": width}
        del model
        keras.backend.clear_session()
    return {"h5_weights": info}


PARTS = {"small": build_small, "keras_app": build_keras_app, "h5_weights": build_h5_weights}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("parts", nargs="+", choices=sorted(PARTS))
    args = ap.parse_args()
    out: Path = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    import keras
    import tensorflow as tf

    for part in args.parts:
        manifest: dict[str, object] = {"tensorflow": tf.__version__, "keras": keras.__version__}
        manifest.update(PARTS[part](out))
        (out / f"manifest_{part}.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

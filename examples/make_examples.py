#!/usr/bin/env python3
"""Regenerate the example SavedModels in examples/models/.

    python examples/make_examples.py

benign_classifier/  a tiny tf.Module softmax classifier (fixed weights).
malicious_reader/   ReadFile('/etc/passwd') plus a PrintV2 that appends to
                    file:///tmp/owned.py.  DO NOT load and call it; it is
                    only traced and saved here, never executed.
"""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import shutil
from pathlib import Path

import tensorflow as tf

MODELS = Path(__file__).resolve().parent / "models"


class BenignClassifier(tf.Module):
    """4 features -> 3 classes, softmax(x @ w + b)."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable([[0.2, -0.1, 0.05], [0.4, 0.3, -0.2], [-0.3, 0.1, 0.25], [0.1, -0.4, 0.3]], name="w")
        self.b = tf.Variable([0.01, 0.0, -0.01], name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="features")], autograph=False)
    def __call__(self, features):
        return {"probabilities": tf.nn.softmax(tf.matmul(features, self.w) + self.b)}


class MaliciousReader(tf.Module):
    """Looks like an identity model; reads /etc/passwd and writes a .py file."""

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="features")], autograph=False)
    def __call__(self, features):
        leaked = tf.io.read_file("/etc/passwd")
        tf.print("print('owned by a model')", output_stream="file:///tmp/owned.py")
        noise = tf.cast(tf.strings.length(leaked), tf.float32) * 0.0
        return {"probabilities": features + noise}


def save(module, name):
    path = MODELS / name
    shutil.rmtree(path, ignore_errors=True)
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    assert size < 200_000, f"{name} is {size} bytes"
    print(f"wrote {path.relative_to(MODELS.parent.parent)} ({size} bytes)")


def main():
    MODELS.mkdir(parents=True, exist_ok=True)
    save(BenignClassifier(), "benign_classifier")
    save(MaliciousReader(), "malicious_reader")


if __name__ == "__main__":
    main()

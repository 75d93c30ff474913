"""Run one harness under atheris (libFuzzer): coverage-guided, with the seeds as corpus.

Called by the ``fuzz_<name>.py`` entry points; libFuzzer flags pass through, e.g.
``-max_total_time=3600 -timeout=20 -rss_limit_mb=4096 CORPUS_DIR``.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

#: Imported inside ``instrument_imports`` so that coverage guides the fuzzer through
#: them (modules imported later, lazily, would run uninstrumented).
INSTRUMENTED = (
    "tfmodel_lint.formats", "tfmodel_lint.sources", "tfmodel_lint.ir",
    "tfmodel_lint.loaders.dispatch", "tfmodel_lint.loaders.tf_graph", "tfmodel_lint.loaders.tflite",
    "tfmodel_lint.loaders.tfjs", "tfmodel_lint.loaders.archives", "tfmodel_lint.loaders.keras_config",
    "tfmodel_lint.loaders.keras_h5", "tfmodel_lint.loaders.keras_v3", "tfmodel_lint.loaders.keras_savedmodel",
    "tfmodel_lint.loaders.marshal_reader", "tfmodel_lint.analysis.values", "tfmodel_lint.analysis.reach",
    "tfmodel_lint.analysis.capabilities", "tfmodel_lint.analysis.targets",
)


def main(name: str) -> None:
    import atheris

    with atheris.instrument_imports(include=["tfmodel_lint"]):
        for module in INSTRUMENTED:
            try:
                importlib.import_module(module)
            except ImportError:  # a loader not in this build
                pass
        from fuzz._harness import HARNESSES, seeds

    harness = HARNESSES[name]
    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):
        # No corpus directory given: start from the seeds in a temporary one.
        corpus = Path(tempfile.mkdtemp(prefix=f"tfmodel-lint-{name}-"))
        for i, data in enumerate(seeds(name)):
            (corpus / f"seed{i:03d}").write_bytes(data)
        args.append(str(corpus))
    atheris.Setup(args, harness.target)
    atheris.Fuzz()

"""Deterministic short fuzz run without atheris: seeds, then seeded random mutations.

    python -m fuzz.short_run NAME [COUNT] [SEED]

Prints one JSON line: executions, seeds, crashes (with the input in hex, truncated).
Exits 1 if any input crashed the target.
"""

from __future__ import annotations

import json
import random
import sys
import time
import traceback

from fuzz._harness import HARNESSES, seeds
from fuzz.mutate import mutate


def run(name: str, count: int, seed: int) -> dict[str, object]:
    harness = HARNESSES[name]
    corpus = seeds(name)
    rng = random.Random(f"{name}:{seed}")
    crashes: list[dict[str, str]] = []
    executions = 0
    start = time.monotonic()
    inputs = list(corpus)
    while len(inputs) < count + len(corpus):
        inputs.append(mutate(rng.choice(corpus), rng, corpus))
    for data in inputs:
        executions += 1
        try:
            harness.target(data)
        except Exception as exc:  # noqa: BLE001 - anything but the linter's own errors is a crash
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            crashes.append({"error": f"{type(exc).__name__}: {str(exc)[:200]}",
                            "where": f"{tb.filename.rsplit('/', 1)[-1]}:{tb.lineno}",
                            "input": data[:512].hex()})
    return {"harness": name, "executions": executions, "seeds": len(corpus), "crashes": crashes,
            "seconds": round(time.monotonic() - start, 2)}


def main(argv: list[str]) -> int:
    name = argv[1]
    count = int(argv[2]) if len(argv) > 2 else 300
    seed = int(argv[3]) if len(argv) > 3 else 0
    report = run(name, count, seed)
    print(json.dumps(report))
    return 1 if report["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Write each harness's seeds into CORPUS/<name>/ (default: fuzz/corpus/, git-ignored).

    python fuzz/seed.py [CORPUS]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz._harness import HARNESSES, seeds


def main(argv: list[str]) -> int:
    base = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "corpus"
    for name in HARNESSES:
        out = base / name
        out.mkdir(parents=True, exist_ok=True)
        found = seeds(name)
        for i, data in enumerate(found):
            (out / f"seed{i:03d}").write_bytes(data)
        print(f"{name}: {len(found)} seeds in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

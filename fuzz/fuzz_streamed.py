#!/usr/bin/env python3
"""atheris entry point: the ``streamed`` harness (see fuzz/_harness.py and fuzz/README.md)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.atheris_main import main

if __name__ == "__main__":
    main("streamed")

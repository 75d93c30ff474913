#!/usr/bin/env python3
"""Time protobuf parsing alone: the floor the scale targets are measured against.

    python bench/parse_only.py FILE [REPEAT]

Reads FILE once, then parses it REPEAT times (default 3) with the project's own schema
(``tfmodel_lint.proto.tfmodel_lint_pb2``): ``saved_model.pb`` as a SavedModel, anything
else as a GraphDef, exactly what the linter's loader does for these files. Prints JSON:
``{"parse_s": [...], "parse_cpu_s": [...], "bytes": N}`` (wall and CPU seconds of each
parse); the caller reads the process's peak RSS.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> int:
    path = Path(sys.argv[1])
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

    cls = pb.SavedModel if path.name == "saved_model.pb" else pb.GraphDef
    data = path.read_bytes()
    times, cpu = [], []
    for _ in range(repeat):
        msg = cls()
        start, start_cpu = time.perf_counter(), time.process_time()
        msg.ParseFromString(data)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        del msg
    print(json.dumps({"parse_s": times, "parse_cpu_s": cpu, "bytes": len(data)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

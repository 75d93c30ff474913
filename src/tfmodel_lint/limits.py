"""Safety limits for hostile input, with their defaults. Each is a command-line option
and a config key; exceeding one is a TFL903 finding that names it."""

from __future__ import annotations

from dataclasses import dataclass, fields

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    #: Largest single file (or archive member) read, in bytes.
    max_file_bytes: int = 512 * MiB
    #: Largest total of bytes decompressed from one archive.
    max_archive_bytes: int = 1024 * MiB
    #: Largest compression ratio of an archive member (uncompressed / compressed).
    max_compression_ratio: int = 200
    #: Most members in one archive.
    max_archive_entries: int = 10_000
    #: Deepest nesting of archives inside archives.
    max_archive_depth: int = 3
    #: Most nodes in one model (all functions together).
    max_nodes: int = 5_000_000
    #: Most library functions in one model.
    max_functions: int = 200_000
    #: Largest JSON/HDF5 config document, in bytes.
    max_config_bytes: int = 64 * MiB
    #: Wall-clock budget per artifact, in seconds (0 disables).
    time_budget: float = 120.0

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


class LimitExceededError(Exception):
    """An artifact exceeded a limit; ``limit`` names it, ``value`` is its setting."""

    def __init__(self, limit: str, value: object, detail: str) -> None:
        super().__init__(f"{detail} (limit {limit.replace('_', '-')}={value})")
        self.limit = limit
        self.value = value

"""Errors raised while reading an artifact, and the kinds of problem an artifact can have.

A leaf module: loaders, sources and the engine raise these; the artifact rules
(:mod:`tfmodel_lint.rules.artifact`) say which rule code and severity report each
:class:`Problem`, so codes and severities are defined once, on the rule classes.
"""

from __future__ import annotations

import enum


class Problem(enum.Enum):
    """What is wrong with an artifact (or one of its members), independent of rule codes."""

    UNREADABLE = "unreadable"
    MALFORMED = "malformed"
    LIMIT = "limit"
    NO_MODEL = "no_model"
    UNSAFE_MEMBER = "unsafe_member"
    LFS_POINTER = "lfs_pointer"
    FORMAT_MISMATCH = "format_mismatch"
    CUSTOM_OP = "custom_op"
    INTERNAL = "internal"


class ArtifactError(Exception):
    """The artifact (or member) cannot be linted; ``problem`` says why."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


class LimitExceededError(Exception):
    """An artifact exceeded a limit; ``limit`` names it, ``value`` is its setting."""

    def __init__(self, limit: str, value: object, detail: str) -> None:
        super().__init__(f"{detail} (limit {limit.replace('_', '-')}={value})")
        self.limit = limit
        self.value = value

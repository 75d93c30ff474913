"""TFL9xx: problems with the artifact itself.

These rules are reported by the loaders and the engine, not by inspecting a model, so
``check`` yields nothing; they exist so that the codes can be selected, ignored,
documented and described in SARIF like any other. Each says which
:class:`~tfmodel_lint.errors.Problem` it reports: the loaders name problems, never codes,
so a code and its default severity are defined here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from tfmodel_lint.errors import Problem
from tfmodel_lint.findings import Issue, Severity
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.rules.base import Rule, RuleContext


class ArtifactRule(Rule):
    category = "artifact"
    #: The problem this rule reports.
    problem: ClassVar[Problem]

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        return ()


class UnreadableArtifact(ArtifactRule):
    """The artifact could not be read (permissions, I/O error, vanished file).

    Nothing in it was checked. Severity: medium.
    """

    code = "TFL901"
    problem = Problem.UNREADABLE
    name = "unreadable-artifact"
    severity = Severity.MEDIUM
    summary = "Artifact could not be read"


class MalformedArtifact(ArtifactRule):
    """The artifact could not be parsed: truncated, corrupt, or not what its name says.

    The message says which part failed. Nothing in it was checked, and TensorFlow may
    still load part of it. Severity: medium.
    """

    code = "TFL902"
    problem = Problem.MALFORMED
    name = "malformed-artifact"
    severity = Severity.MEDIUM
    summary = "Artifact could not be parsed"


class LimitExceeded(ArtifactRule):
    """The artifact exceeds one of the linter's safety limits (size, decompressed bytes,
    compression ratio, entries, nesting depth, node or function count, time budget), so
    part of it was not checked.

    The message names the limit and its setting; raise it with the matching option if
    the artifact is legitimate. Findings made before the limit was hit are kept. What
    was not checked may hold anything a checked model can, so the severity is high:
    ``--fail-on high`` does not let an artifact pass by being too large or too slow to
    analyse.
    """

    code = "TFL903"
    problem = Problem.LIMIT
    name = "limit-exceeded"
    severity = Severity.HIGH
    summary = "Artifact exceeds a safety limit"


class NoModelFound(ArtifactRule):
    """A path given on the command line holds no artifact the linter recognises.

    Severity: low.
    """

    code = "TFL904"
    problem = Problem.NO_MODEL
    name = "no-model-found"
    severity = Severity.LOW
    summary = "Path holds no recognised model artifact"


class UnsafeArchiveMember(ArtifactRule):
    """An archive member with a dangerous name or type: ``..`` or absolute paths,
    symlinks, hard links, duplicate names, encrypted entries.

    Extracting such an archive writes outside the target directory or hides content.
    The linter never extracts: it reports. Severity: high.
    """

    code = "TFL905"
    problem = Problem.UNSAFE_MEMBER
    name = "unsafe-archive-member"
    severity = Severity.HIGH
    summary = "Archive member with a dangerous name or type"


class GitLfsPointer(ArtifactRule):
    """A Git LFS pointer file stands where a model was expected.

    The model's content was not checked out (``git lfs pull``), so it was not linted.
    Severity: low.
    """

    code = "TFL906"
    problem = Problem.LFS_POINTER
    name = "git-lfs-pointer"
    severity = Severity.LOW
    summary = "Git LFS pointer file instead of a model"


class FormatMismatch(ArtifactRule):
    """The artifact's name promises one format and its content is another: a ``.h5``
    that is a zip, a ``.tflite`` that is a SavedModel protobuf, a ``.pbtxt`` that is
    binary.

    The linter goes by the content and lints what is really there, but tools that
    dispatch on the extension (Keras, TensorFlow, other scanners) see a different file
    than the linter does; a renamed artifact is a common way to slip past a scanner.

    Also a polyglot: content that parses as two formats at once, such as an HDF5 file
    (libhdf5 finds its superblock at offset 0, 512, 1024, 2048...) with a zip appended or
    prepended (zip readers find the archive from its end). Keras opens one model, an
    unzip tool or a ``.keras`` loader another. The linter loads the artifact as every
    format it parses as and keeps every finding; this one says that it is both.
    Severity: medium.
    """

    code = "TFL907"
    problem = Problem.FORMAT_MISMATCH
    name = "format-mismatch"
    severity = Severity.MEDIUM
    summary = "Artifact content does not match its file name"


class CustomOperator(ArtifactRule):
    """A TFLite model uses a custom operator (not a builtin and not a Select-TF "Flex"
    operator).

    Its kernel is native code that the application registers with the interpreter;
    the model only names it, so what it does cannot be checked here. Known custom
    operators (``TFLite_Detection_PostProcess``...) are common; an unknown name deserves
    a look at the application that ships it. Severity: low.
    """

    code = "TFL908"
    problem = Problem.CUSTOM_OP
    name = "custom-operator"
    severity = Severity.LOW
    summary = "TFLite model uses a custom operator"


class ConfigurationDisablesChecks(Rule):
    """The configuration file of the linted checkout switches off whole checks.

    A ``pyproject.toml`` or ``.tfmodel-lint.toml`` is part of the checkout it configures:
    a change that adds ``extend-ignore = ["TFL2"]``, ``exclude = ["*"]``, a
    ``per-file-ignores`` glob matching every model, or a signatures file that removes
    capabilities from built-in ops would make a malicious model pass. Such settings are
    reported on the configuration file: every check of a category turned off (medium; high
    when every capability check or the artifact checks are off), an exclude or per-file
    ignore matching every model file (high), capabilities removed from built-in ops (high).

    The configuration cannot suppress this finding; the command line can
    (``--extend-ignore TFL910``), and ``--isolated`` ignores the configuration file, as CI
    should for untrusted changes.
    """

    code = "TFL910"
    name = "configuration-disables-checks"
    severity = Severity.MEDIUM
    category = "configuration"
    summary = "The configuration file turns off whole checks"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        return ()


class RuleCrashed(ArtifactRule):
    """A rule raised an exception on this artifact: a bug in the rule or its plugin.

    The other rules still ran; the run exits with code 3. Severity: medium.
    """

    code = "TFL999"
    problem = Problem.INTERNAL
    name = "rule-crashed"
    severity = Severity.MEDIUM
    summary = "A rule failed on this artifact (internal error)"


RULES = [
    UnreadableArtifact,
    MalformedArtifact,
    LimitExceeded,
    NoModelFound,
    UnsafeArchiveMember,
    GitLfsPointer,
    FormatMismatch,
    CustomOperator,
    ConfigurationDisablesChecks,
    RuleCrashed,
]

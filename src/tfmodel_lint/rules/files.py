"""TFL2xx: file and directory access."""

from __future__ import annotations

from tfmodel_lint.findings import Severity
from tfmodel_lint.rules._capability import CapabilityRule


class FileRead(CapabilityRule):
    """An op that reads a file, with the path it reads.

    Ops such as ``ReadFile``, ``ImmutableConst`` (memory-maps ``memory_region_name``),
    ``FixedLengthRecordDataset`` (``record_bytes=1`` reads any file), ``CSVDataset``,
    ``TextLineDataset``, ``TFRecordDataset`` and ``InitializeTableFromTextFile`` read
    files when the model runs. The path is resolved by following the dataflow into the
    op's filename argument.

    Severity: high for a sensitive file (``/etc/passwd``, ``~/.ssh/*``, shell startup
    files, cloud credentials, ``/proc/self/environ``...) or a home directory; info for
    the model's own ``assets/``; medium otherwise; high for a remote file system
    (``gs://``, ``s3://``...: also reported as a network send). The standard restore
    function, whose filename the loader supplies, is not reported; nor is
    ``Dataset.cache()`` with an empty filename (an in-memory cache).
    """

    code = "TFL201"
    name = "file-read"
    severity = Severity.MEDIUM
    category = "file_read"
    summary = "Op that reads a file (path resolved from the graph)"


class FileWrite(CapabilityRule):
    """An op that writes a file, with the path it writes and what it writes.

    ``WriteFile``, ``Save``/``SaveSlices``/``SaveV2`` aimed at a path of the model's
    choosing (newlines in ``tensor_names`` make a valid ``authorized_keys`` line),
    ``PrintV2`` with ``output_stream="file://..."`` (appends), summary writers and
    dataset savers write files when the model runs.

    Severity: high for an absolute path (``/tmp`` included), a home directory, a
    ``..``-traversing path, a Python module (``tensorflow.py`` shadows the real package
    at the next import) or a shell startup file; medium otherwise. The standard saver,
    whose filename the loader supplies, is not reported; nor is ``PrintV2`` to
    stderr/stdout/log.
    """

    code = "TFL202"
    name = "file-write"
    severity = Severity.MEDIUM
    category = "file_write"
    summary = "Op that writes a file (path resolved from the graph)"


class DirectoryRead(CapabilityRule):
    """An op that lists a directory or matches a glob pattern.

    ``MatchingFiles``, ``MatchingFilesDataset`` and ``ExperimentalMatchingFilesDataset``
    reveal which files exist: ``/home/*`` leaks user names, ``/home/*/.ssh`` finds keys
    to overwrite.

    Severity: high for a listing of ``/``, ``/home``, ``/root``, ``~``, ``/etc`` or of a
    sensitive location; medium otherwise.
    """

    code = "TFL203"
    name = "directory-read"
    severity = Severity.MEDIUM
    category = "dir_read"
    summary = "Op that lists a directory or matches a file pattern"


class DirectoryWrite(CapabilityRule):
    """An op that creates or deletes directories or files in them.

    Checkpoint merging (``MergeV2Checkpoints`` deletes its inputs), dataset savers and
    snapshot ops create directory trees.

    Severity: as for file writes.
    """

    code = "TFL204"
    name = "directory-write"
    severity = Severity.MEDIUM
    category = "dir_write"
    summary = "Op that creates or deletes directories"


RULES = [FileRead, FileWrite, DirectoryRead, DirectoryWrite]

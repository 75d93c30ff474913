#!/usr/bin/env python3
"""Build ``signatures/tf_ops.json`` from the hand-written table below.

This is a maintainer tool, not part of the linter: it imports TensorFlow to
read the op registry of the installed release, and it reads the PersistExt
reference lists (one ``python_function,  OpName,  path`` line per persistent
API, one file per TF release, named ``vX.Y.Z``).

    python signatures/tools/curate.py [--reference DIR] [--output FILE] [--check]

``--reference`` defaults to ``../shared/reference/persistext`` relative to the
repository root. ``--check`` rebuilds in memory and exits 1 if the file on disk
differs (nothing is written).

What comes from where:

* ``CURATED`` (below): categories, which arguments are targets and payloads
  and their roles, the summary, whether the threat model names the op, and
  whether the entry rests on a judgement call (``manual``).
* the op registry of the installed TensorFlow: whether an argument is an
  input or an attr, its position among the inputs, and whether an input
  before it is a list (then no ``index`` is given, only ``after_list``).
  An argument name that the registry does not know is an error.
* the PersistExt lists plus the registry: ``tf_versions``.

Ops that the installed TensorFlow does not register (contrib ops of TF 1.x,
CUDA/TensorRT-only ops) carry a ``legacy`` signature written by hand from the
TF source; for those the registry is not consulted and ``manual`` is set.

Output is deterministic: sorted keys, ``indent=1``, trailing newline.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

SCHEMA_VERSION = 1

CATEGORIES = [
    "file_read",
    "file_write",
    "dir_read",
    "dir_write",
    "network_send",
    "network_receive",
    "process_create",
    "process_abort",
    "process_sleep",
    "code_execution",
]
TARGET_ROLES = {"path", "pattern", "url", "address", "stream", "memory_region",
                "directory", "callable"}
PAYLOAD_ROLES = {"data", "names"}
PROVENANCE_ORDER = ["threat-model", "registry:{tf}", "persistext-reference",
                    "registry-only", "manual"]

# Shorthands used in the table.
FR, FW, DR, DW = "file_read", "file_write", "dir_read", "dir_write"
NS, NR = "network_send", "network_receive"
PC, PA, PS, CE = "process_create", "process_abort", "process_sleep", "code_execution"

_QUEUE_NOTE = ("The reader op carries no file name: names are dequeued from the "
               "queue passed to ReaderRead*/ReaderReadUpTo*, so targets are empty; "
               "follow the queue's enqueue ops to find the paths.")
_DEBUG_GAP = ("tf_versions.missing is a PersistExt blind spot: TF 1.1-2.0 had no public "
              "Python wrapper for this op, but it stayed registered (tfdbg v1 inserts it).")
_LEGACY = ("Not registered in the installed TF; arguments taken by hand from the "
           "TF source (REGISTER_OP / Python wrapper), not registry-checked.")


def E(cats, summary, targets=(), payloads=(), tm=False, manual=False, legacy=None):
    """One curated entry. targets/payloads: (argument name, role) pairs."""
    return {
        "cats": list(cats),
        "targets": list(targets),
        "payloads": list(payloads),
        "tm": tm,
        "manual": manual,
        "summary": summary,
        "legacy": legacy,
    }


# ---------------------------------------------------------------------------
# The hand-written table. tm=True: the op is named in docs/threat-model.md.
# manual=True: a judgement the threat model and the registry do not settle;
# the summary says which.
# ---------------------------------------------------------------------------
CURATED = {
    # --- file read ---------------------------------------------------------
    "ReadFile": E([FR], "Reads the whole file named by `filename` and returns its bytes.",
                  [("filename", "path")], tm=True),
    "ImmutableConst": E(
        [FR], "Memory-maps the file named by attr `memory_region_name` and returns it as a "
        "constant tensor (any readable file, e.g. /etc/passwd).",
        [("memory_region_name", "memory_region")], tm=True),
    "FixedLengthRecordDataset": E(
        [FR], "Dataset of fixed-length records read from `filenames`; record_bytes=1 "
        "returns any file byte by byte.", [("filenames", "path")], tm=True),
    "FixedLengthRecordDatasetV2": E(
        [FR], "Dataset of fixed-length records read from `filenames` (optionally compressed); "
        "record_bytes=1 returns any file byte by byte.", [("filenames", "path")], tm=True),
    "CSVDataset": E(
        [FR], "Dataset of CSV rows read from `filenames`; choosing `field_delim` (e.g. ':') "
        "lets it read arbitrary text files such as /etc/passwd.", [("filenames", "path")],
        tm=True),
    "CSVDatasetV2": E(
        [FR], "Dataset of CSV rows read from `filenames`; choosing `field_delim` (e.g. ':') "
        "lets it read arbitrary text files such as /etc/passwd.", [("filenames", "path")],
        tm=True),
    "ExperimentalCSVDataset": E(
        [FR], "Dataset of CSV rows read from `filenames` (experimental name of CSVDataset).",
        [("filenames", "path")], tm=True),
    "TFRecordDataset": E([FR], "Dataset of the records in the TFRecord files `filenames`.",
                         [("filenames", "path")], tm=True),
    "TFRecordDatasetV2": E([FR], "Dataset of the records in the TFRecord files `filenames` "
                           "(with byte offsets).", [("filenames", "path")], tm=True),
    "TextLineDataset": E([FR], "Dataset of the lines of the text files `filenames`.",
                         [("filenames", "path")], tm=True),
    "LMDBDataset": E([FR], "Dataset of the key/value pairs of the LMDB files `filenames`.",
                     [("filenames", "path")], tm=True),
    "ExperimentalLMDBDataset": E(
        [FR], "Dataset of the key/value pairs of the LMDB files `filenames` (experimental "
        "name of LMDBDataset). manual: variant of an op the threat model names.",
        [("filenames", "path")], manual=True),
    "SqlDataset": E(
        [FR, FW], "Runs `query` against the SQLite database at `data_source_name` and yields "
        "the rows. manual: file_write added because the kernel opens the database "
        "read-write with SQLITE_OPEN_CREATE (a missing file is created) and the query "
        "itself can write (INSERT, ATTACH, VACUUM INTO).",
        [("data_source_name", "path")], tm=True, manual=True),
    "ExperimentalSqlDataset": E(
        [FR, FW], "Experimental name of SqlDataset: runs `query` against the SQLite database "
        "at `data_source_name`. manual: file_write because the database is opened "
        "read-write/create and the query can write.",
        [("data_source_name", "path")], tm=True, manual=True),
    "InitializeTableFromTextFile": E(
        [FR], "Fills a lookup table from the lines of the text file `filename` (ref-typed "
        "table handle).", [("filename", "path")], tm=True),
    "InitializeTableFromTextFileV2": E(
        [FR], "Fills a lookup table from the lines of the text file `filename`; the "
        "contents can be read back with LookupTableExportV2 or lookups.",
        [("filename", "path")], tm=True),
    "LookupTableExport": E(
        [], "manual: no capability of its own. Returns a table's keys and values as "
        "tensors; the paper pairs it with InitializeTableFromTextFile to turn a file read "
        "into tensors, but the file access is in that op. Listed only because the threat "
        "model names it.", tm=True, manual=True),
    "LookupTableExportV2": E(
        [], "manual: no capability of its own. Returns a table's keys and values as "
        "tensors (MutableHashTable savers use it in every SavedModel that has one); the "
        "file read is in InitializeTableFromTextFileV2. Listed only because the threat "
        "model names it.", tm=True, manual=True),
    "Restore": E([FR], "Restores one tensor from the V1 checkpoint files matching the glob "
                 "`file_pattern`.", [("file_pattern", "pattern")], tm=True),
    "RestoreSlice": E([FR], "Restores a slice of one tensor from the V1 checkpoint files "
                      "matching the glob `file_pattern`.", [("file_pattern", "pattern")],
                      tm=True),
    "RestoreV2": E([FR], "Reads tensors from the V2 checkpoint `prefix`.index/.data-*; part "
                   "of every TF2 SavedModel's restore function (prefix normally comes from "
                   "the function argument).", [("prefix", "path")], tm=True),
    "DTensorRestoreV2": E(
        [FR], "DTensor variant of RestoreV2: reads tensors from the checkpoint `prefix`. "
        "manual: not named in the threat model, found by scanning the registry (no CPU "
        "kernel in the tensorflow-cpu build).", [("prefix", "path")], manual=True),
    "LoadAndRemapMatrix": E([FR], "Loads a 2-D tensor from the checkpoint `ckpt_path` and "
                            "remaps its rows and columns.", [("ckpt_path", "path")], tm=True),
    "GenerateVocabRemapping": E(
        [FR], "Reads the vocabulary files `new_vocab_file` and `old_vocab_file` and returns "
        "an index remapping. manual: not named in the threat model, found by scanning the "
        "registry.", [("new_vocab_file", "path"), ("old_vocab_file", "path")], manual=True),
    "FixedUnigramCandidateSampler": E(
        [FR], "Candidate sampler that reads unigram counts from the file in attr "
        "`vocab_file` (when set). manual: not named in the threat model, found by scanning "
        "the registry.", [("vocab_file", "path")], manual=True),
    "Skipgram": E(
        [FR], "word2vec skip-gram generator that reads the text corpus in attr `filename`. "
        "manual: not named in the threat model; deprecated at GraphDef version 19, but a "
        "model file chooses its own producer version.", [("filename", "path")],
        manual=True),
    "RecordInput": E(
        [FR], "Reads TFRecord records from the files matching the glob in attr "
        "`file_pattern` and returns them in batches. manual: not named in the threat "
        "model, found by scanning the registry.", [("file_pattern", "pattern")],
        manual=True),
    "DecodeProtoV2": E(
        [FR], "Parses protobufs; attr `descriptor_source` is 'local://' (default), "
        "'bytes://<descriptor set>' or a path to a file holding a FileDescriptorSet, "
        "which is read. manual: not named in the threat model; only a file when it is "
        "neither local:// nor bytes://.", [("descriptor_source", "path")], manual=True),
    "EncodeProto": E(
        [FR], "Serialises protobufs; attr `descriptor_source` is 'local://' (default), "
        "'bytes://<descriptor set>' or a path to a FileDescriptorSet file, which is read. "
        "manual: not named in the threat model; only a file when it is neither local:// "
        "nor bytes://.", [("descriptor_source", "path")], manual=True),
    "SnapshotDatasetReader": E(
        [FR], "Reads the elements stored in a tf.data snapshot shard directory `shard_dir`. "
        "manual: not named in the threat model, found by scanning the registry.",
        [("shard_dir", "directory")], manual=True),
    "SnapshotChunkDataset": E(
        [FR], "Reads the elements of the tf.data snapshot chunk file `chunk_file`. manual: "
        "not named in the threat model, found by scanning the registry.",
        [("chunk_file", "path")], manual=True),
    "ListSnapshotChunksDataset": E(
        [DR], "Dataset of the chunk file names found under the distributed-snapshot "
        "directory `snapshot_path`. manual: not named in the threat model, found by "
        "scanning the registry.", [("snapshot_path", "directory")], manual=True),
    "LoadDataset": E([FR], "Loads a dataset saved by SaveDataset from the directory `path`.",
                     [("path", "directory")], tm=True),
    # Reader ops (queue based, TF1). The file name arrives through a queue.
    "WholeFileReader": E([FR], "Reader that returns whole files. " + _QUEUE_NOTE, tm=True),
    "WholeFileReaderV2": E([FR], "Reader (resource handle) that returns whole files. "
                           + _QUEUE_NOTE, tm=True),
    "TextLineReader": E([FR], "Reader that returns the lines of files. manual: the "
                        "threat model names the TextLine readers only generically. "
                        + _QUEUE_NOTE, manual=True),
    "TextLineReaderV2": E([FR], "Reader (resource handle) that returns the lines of files. "
                          "manual: the threat model names the TextLine readers only "
                          "generically. " + _QUEUE_NOTE, manual=True),
    "TFRecordReader": E([FR], "Reader that returns the records of TFRecord files. manual: "
                        "the threat model names the TFRecord readers only generically. "
                        + _QUEUE_NOTE, manual=True),
    "TFRecordReaderV2": E([FR], "Reader (resource handle) that returns the records of "
                          "TFRecord files. manual: the threat model names the TFRecord "
                          "readers only generically. " + _QUEUE_NOTE, manual=True),
    "FixedLengthRecordReader": E(
        [FR], "Reader that returns fixed-length records of files (hop/record_bytes=1 reads "
        "any file). manual: not named in the threat model. " + _QUEUE_NOTE, manual=True),
    "FixedLengthRecordReaderV2": E(
        [FR], "Reader (resource handle) that returns fixed-length records of files. manual: "
        "not named in the threat model. " + _QUEUE_NOTE, manual=True),
    "LMDBReader": E([FR], "Reader that returns the key/value pairs of LMDB files. manual: "
                    "not named in the threat model. " + _QUEUE_NOTE, manual=True),
    "ReaderRead": E(
        [FR], "Performs the read for the reader in `reader_handle` (ref-typed), taking the "
        "next file name from `queue_handle`. A file read unless the reader is an "
        "IdentityReader; no path argument of its own.", tm=True),
    "ReaderReadV2": E(
        [FR], "Performs the read for the reader resource in `reader_handle`, taking the "
        "next file name from `queue_handle`. A file read unless the reader is an "
        "IdentityReaderV2; no path argument of its own.", tm=True),
    "ReaderReadUpTo": E(
        [FR], "Reads up to `num_records` records with the reader in `reader_handle` from "
        "files named in `queue_handle`. manual: batch form of ReaderRead, not named in the "
        "threat model.", manual=True),
    "ReaderReadUpToV2": E(
        [FR], "Reads up to `num_records` records with the reader resource in `reader_handle` "
        "from files named in `queue_handle`. manual: batch form of ReaderReadV2, not named "
        "in the threat model.", manual=True),
    # --- file write --------------------------------------------------------
    "WriteFile": E(
        [FW, DW], "Writes `contents` to the file `filename`, replacing it. manual: dir_write "
        "added because the kernel creates missing parent directories "
        "(RecursivelyCreateDir).", [("filename", "path")], [("contents", "data")],
        tm=True, manual=True),
    "Save": E([FW], "Writes the tensors `data` under the names `tensor_names` to the V1 "
              "checkpoint file `filename`; newlines in names survive into the binary (an "
              "authorized_keys line can be planted).", [("filename", "path")],
              [("tensor_names", "names"), ("data", "data")], tm=True),
    "SaveSlices": E([FW], "Writes slices of the tensors `data` under `tensor_names` to the "
                    "V1 checkpoint file `filename`; attacker text in names or data lands in "
                    "the file.", [("filename", "path")],
                    [("tensor_names", "names"), ("data", "data")], tm=True),
    "SaveV2": E(
        [FW, DW], "Writes `tensors` under `tensor_names` to the V2 checkpoint "
        "`prefix`.index/.data-*; part of every TF2 SavedModel's saver function. manual: "
        "dir_write added because the bundle writer creates the prefix's parent directory.",
        [("prefix", "path")], [("tensor_names", "names"), ("tensors", "data")], tm=True,
        manual=True),
    "MergeV2Checkpoints": E(
        [FR, FW, DW], "Merges the V2 checkpoints `checkpoint_prefixes` into "
        "`destination_prefix`, then deletes the source files (and with "
        "delete_old_dirs=true their directories): can delete files. Present in every TF2 "
        "SavedModel saver.", [("checkpoint_prefixes", "path"), ("destination_prefix", "path")],
        tm=True),
    "PrintV2": E(
        [FW], "Prints the string `input`; attr `output_stream` is stderr/stdout/log(...) "
        "or 'file://<path>', which appends to that file (e.g. ./tensorflow.py). Only a "
        "capability when output_stream is a file:// URL.",
        [("output_stream", "stream")], [("input", "data")], tm=True),
    "DatasetToTFRecord": E([FW], "Writes every element of `input_dataset` as a record to the "
                           "TFRecord file `filename`.", [("filename", "path")],
                           [("input_dataset", "data")], tm=True),
    "ExperimentalDatasetToTFRecord": E(
        [FW], "Experimental name of DatasetToTFRecord: writes `input_dataset` to the "
        "TFRecord file `filename`. manual: variant of an op the threat model names.",
        [("filename", "path")], [("input_dataset", "data")], manual=True),
    "CacheDataset": E(
        [FR, FW], "Caches `input_dataset` in files prefixed by `filename` (memory when "
        "empty) and reads them back on later passes.", [("filename", "path")],
        [("input_dataset", "data")], tm=True),
    "CacheDatasetV2": E(
        [FR, FW], "Caches `input_dataset` in files prefixed by `filename` (memory when "
        "empty) and reads them back on later passes.", [("filename", "path")],
        [("input_dataset", "data")], tm=True),
    "SnapshotDataset": E(
        [FR, FW, DW], "Writes `input_dataset` to (or reads it from) a snapshot under the "
        "directory `path`, creating sub-directories; attrs reader_path_prefix and "
        "writer_path_prefix are prepended to it. manual: dir_write because it creates "
        "the run directories.",
        [("path", "directory"), ("reader_path_prefix", "path"),
         ("writer_path_prefix", "path")], [("input_dataset", "data")], tm=True, manual=True),
    "SnapshotDatasetV2": E(
        [FR, FW, DW], "Writes `input_dataset` to (or reads it from) a snapshot under the "
        "directory `path`, creating sub-directories; attrs reader_prefix and writer_prefix "
        "are prepended to it. manual: V2 of an op the threat model names; dir_write "
        "because it creates the run directories.",
        [("path", "directory"), ("reader_prefix", "path"), ("writer_prefix", "path")],
        [("input_dataset", "data")], manual=True),
    "SaveDataset": E([FW, DW], "Saves every element of `input_dataset` as shard files under "
                     "the directory `path` (created if missing).", [("path", "directory")],
                     [("input_dataset", "data")], tm=True),
    "SaveDatasetV2": E([FW, DW], "Saves every element of `input_dataset` as shard files under "
                       "the directory `path` (created if missing). manual: V2 of an op the "
                       "threat model names.", [("path", "directory")],
                       [("input_dataset", "data")], manual=True),
    "CreateSummaryFileWriter": E(
        [FW, DW], "Creates the directory `logdir` and an events file in it "
        "(events.out.tfevents.*`filename_suffix`); the Write*Summary ops then append to it "
        "through the writer resource.", [("logdir", "directory")], tm=True),
    "CreateSummaryDbWriter": E(
        [FR, FW], "Opens (creating if missing) the SQLite database `db_uri` (a path or "
        "SQLite file: URI) and writes summaries into it.", [("db_uri", "path")], tm=True),
    "DumpTensor": E(
        [FW, DW], "Quantization debugger op: creates the directory in attr `log_dir_path` "
        "and writes `tensor_data` to the file `file_name` in it (when enabled). manual: not "
        "named in the threat model, found by scanning the registry.",
        [("log_dir_path", "directory"), ("file_name", "path")], [("tensor_data", "data")],
        manual=True),
    "CalibrationStatisticsSaver": E(
        [FW], "Quantization calibration op: aggregates statistics of `args` and writes them "
        "to the file in attr `output_file_path`. manual: not named in the threat model, "
        "found by scanning the registry.", [("output_file_path", "path")],
        [("args", "data")], manual=True),
    # --- directory read ----------------------------------------------------
    "MatchingFiles": E([DR], "Returns the file names matching the glob `pattern` (e.g. "
                       "/home/* leaks user names).", [("pattern", "pattern")], tm=True),
    "MatchingFilesDataset": E([DR], "Dataset of the file names matching the globs "
                              "`patterns`.", [("patterns", "pattern")], tm=True),
    "ExperimentalMatchingFilesDataset": E(
        [DR], "Dataset of the file names matching the globs `patterns` (experimental name "
        "of MatchingFilesDataset).", [("patterns", "pattern")], tm=True),
    # --- network -----------------------------------------------------------
    "DebugIdentity": E(
        [NS, FW], "Identity that publishes `input` to every URL in attr `debug_urls`: "
        "grpc://host:port sends it, file:///dir dumps it. manual: file_write added for "
        "file:// URLs. " + _DEBUG_GAP, [("debug_urls", "url")], [("input", "data")],
        tm=True, manual=True),
    "DebugIdentityV2": E(
        [FW], "tfdbg v2 identity: writes `input` (or a summary of it, per "
        "tensor_debug_mode) as debug events under the file:// roots in attr `debug_urls`. "
        "manual: the threat model lists it as a network send, but the 2.x kernel accepts "
        "only file:// URLs and rejects others.", [("debug_urls", "url")],
        [("input", "data")], tm=True, manual=True),
    "DebugIdentityV3": E(
        [NS, FW], "Identity that publishes `input` to every URL in attr `debug_urls`: "
        "grpc://host:port sends it, file:///dir dumps it. manual: file_write added for "
        "file:// URLs.", [("debug_urls", "url")], [("input", "data")], tm=True, manual=True),
    "DebugNanCount": E(
        [NS, FW], "Publishes the NaN count of `input` to the URLs in attr `debug_urls` "
        "(grpc:// or file://). manual: file_write added for file:// URLs; what is sent is a "
        "statistic of the input, not the input. " + _DEBUG_GAP, [("debug_urls", "url")],
        [("input", "data")], tm=True, manual=True),
    "DebugNumericSummary": E(
        [NS, FW], "Publishes a numeric summary (min/max/mean/counts/shape) of `input` to the "
        "URLs in attr `debug_urls` (grpc:// or file://); for a one-element tensor the "
        "summary is the value. manual: file_write added for file:// URLs. " + _DEBUG_GAP,
        [("debug_urls", "url")], [("input", "data")], tm=True, manual=True),
    "DistributedSave": E(
        [NS], "Sends `dataset` to the tf.data service dispatcher at `address`, which writes "
        "a snapshot of it to `directory` on the service side.",
        [("directory", "directory"), ("address", "address")], [("dataset", "data")],
        tm=True),
    "RegisterDataset": E(
        [NS], "Registers (sends the serialized graph of) `dataset` with the tf.data service "
        "dispatcher at `address`.", [("address", "address")], [("dataset", "data")],
        tm=True),
    "RegisterDatasetV2": E(
        [NS], "Registers (sends the serialized graph of) `dataset` with the tf.data service "
        "dispatcher at `address`.", [("address", "address")], [("dataset", "data")],
        tm=True),
    "DataServiceDataset": E(
        [NS, NR], "Reads the elements of a tf.data service job from the dispatcher/workers "
        "at `address`. manual: network_receive added because the elements come from the "
        "remote service.", [("address", "address")], tm=True, manual=True),
    "DataServiceDatasetV2": E(
        [NS, NR], "Reads the elements of a tf.data service job from the dispatcher/workers "
        "at `address`. manual: network_receive added because the elements come from the "
        "remote service.", [("address", "address")], tm=True, manual=True),
    "DataServiceDatasetV3": E(
        [NS, NR], "Reads the elements of a tf.data service job from the dispatcher/workers "
        "at `address`. manual: network_receive added because the elements come from the "
        "remote service.", [("address", "address")], tm=True, manual=True),
    "DataServiceDatasetV4": E(
        [NS, NR], "Reads the elements of a tf.data service job from the dispatcher/workers "
        "at `address` (string dataset_id). manual: network_receive added because the "
        "elements come from the remote service.", [("address", "address")], tm=True,
        manual=True),
    "RpcClient": E(
        [NS, NR], "Connects to the gRPC server at `server_address`; with "
        "list_registered_methods=true it fetches the server's method names (a payload "
        "channel).", [("server_address", "address")], tm=True),
    "RpcCall": E(
        [NS, NR], "Calls `method_name` with `args` on the server behind the client resource "
        "`client`; the response arrives as a future (RpcGetValue). The method name itself "
        "is attacker data sent over the wire.", payloads=[("method_name", "names"),
                                                          ("args", "data")], tm=True),
    "RpcCheckStatus": E(
        [NR], "Waits for the response of an RpcCall future `status_or` and returns its "
        "status. manual: not named in the threat model (part of the Rpc* family).",
        manual=True),
    "RpcGetValue": E(
        [NR], "Waits for the response of an RpcCall future `status_or` and returns the "
        "received tensors. manual: not named in the threat model (part of the Rpc* "
        "family).", manual=True),
    "RpcServer": E(
        [NR], "Creates a gRPC server that will listen on `server_address`. manual: not "
        "named in the threat model (part of the Rpc* family).",
        [("server_address", "address")], manual=True),
    "RpcServerRegister": E(
        [NR], "Registers function attr `f` as `method_name` on an RpcServer, so remote "
        "callers can run it. manual: not named in the threat model (part of the Rpc* "
        "family).", manual=True),
    "RpcServerStart": E(
        [NR], "Starts the RpcServer in `server`, opening the listening socket. manual: not "
        "named in the threat model (part of the Rpc* family).", manual=True),
    # --- code execution / process -----------------------------------------
    "PyFunc": E([CE], "Calls the Python callable registered under attr `token` in the "
                "loading process (only if that process registered one).",
                [("token", "callable")], tm=True),
    "PyFuncStateless": E([CE], "Calls the Python callable registered under attr `token` in "
                         "the loading process (only if that process registered one).",
                         [("token", "callable")], tm=True),
    "EagerPyFunc": E([CE], "Calls the Python callable registered under attr `token` in the "
                     "loading process, eagerly (only if that process registered one).",
                     [("token", "callable")], tm=True),
    "Abort": E([PA], "Aborts the process (exit_without_error=true: exits with status 0).",
               tm=True),
    "SleepDataset": E([PS], "Sleeps `sleep_microseconds` before producing each element of "
                      "`input_dataset`.", tm=True),
    "ExperimentalSleepDataset": E([PS], "Sleeps `sleep_microseconds` before producing each "
                                  "element of `input_dataset`.", tm=True),
    "SleepOp": E([PS], "Test op shipped and registered in release builds: sleeps "
                 "`sleep_seconds`. manual: not named in the threat model, found by scanning "
                 "the registry.", manual=True),
    "SleepIdentityOp": E([PS], "Test op shipped and registered in release builds: sleeps "
                         "`sleep_seconds`, then returns `input`. manual: not named in the "
                         "threat model, found by scanning the registry.", manual=True),
    # --- legacy ops: not registered in the installed TF ------------------------
    "Rpc": E([NS, NR], "TF 1.x contrib.rpc: sends `request` to `method` on the gRPC server "
             "at `address` and returns the response. manual: " + _LEGACY,
             [("address", "address")], [("method", "names"), ("request", "data")],
             manual=True, legacy={"inputs": ["address", "method", "request"],
                                  "attrs": ["protocol", "fail_fast", "timeout_in_ms"]}),
    "TryRpc": E([NS, NR], "TF 1.x contrib.rpc: like Rpc, also returns status code and "
                "message. manual: " + _LEGACY, [("address", "address")],
                [("method", "names"), ("request", "data")], manual=True,
                legacy={"inputs": ["address", "method", "request"],
                        "attrs": ["protocol", "fail_fast", "timeout_in_ms"]}),
    "KafkaDataset": E([NR], "TF 1.x contrib.kafka: consumes `topics` from the Kafka "
                      "bootstrap servers `servers`. manual: " + _LEGACY,
                      [("servers", "address")], manual=True,
                      legacy={"inputs": ["topics", "servers", "group", "eof", "timeout"],
                              "attrs": []}),
    "KinesisDataset": E([NR], "TF 1.x contrib.kinesis: reads the AWS Kinesis stream "
                        "`stream` (endpoint from the AWS configuration, not the graph). "
                        "manual: " + _LEGACY, manual=True,
                        legacy={"inputs": ["stream", "shard", "read_indefinitely",
                                           "interval"], "attrs": []}),
    "IgniteDataset": E([NR], "TF 1.x contrib.ignite: reads cache `cache_name` from the "
                       "Apache Ignite thin-client server at `host`:`port`. manual: "
                       + _LEGACY, [("host", "address")], manual=True,
                       legacy={"inputs": ["cache_name", "host", "port", "local", "part",
                                          "page_size", "schema", "permutation"],
                               "attrs": []}),
    "SequenceFileDataset": E([FR], "TF 1.x contrib.hadoop: reads the Hadoop SequenceFiles "
                             "`filenames`. manual: " + _LEGACY, [("filenames", "path")],
                             manual=True, legacy={"inputs": ["filenames"],
                                                  "attrs": ["output_types"]}),
    "BigQueryReader": E([NR], "TF 1.x contrib.cloud: reader of a BigQuery table; attr "
                        "`test_end_point` overrides the API endpoint. manual: " + _LEGACY,
                        [("test_end_point", "url")], manual=True,
                        legacy={"inputs": [], "attrs": [
                            "container", "shared_name", "project_id", "dataset_id",
                            "table_id", "columns", "timestamp_millis", "test_end_point"]}),
    "GenerateBigQueryReaderPartitions": E(
        [NR], "TF 1.x contrib.cloud: queries BigQuery for table partitions; attr "
        "`test_end_point` overrides the API endpoint. manual: " + _LEGACY,
        [("test_end_point", "url")], manual=True,
        legacy={"inputs": [], "attrs": ["project_id", "dataset_id", "table_id", "columns",
                                        "timestamp_millis", "num_partitions",
                                        "test_end_point"]}),
    "BigtableClient": E([NS, NR], "TF 1.x contrib.bigtable: opens a Cloud Bigtable client "
                        "(fixed Google endpoint) for attrs project_id/instance_id. manual: "
                        + _LEGACY, manual=True,
                        legacy={"inputs": [], "attrs": [
                            "project_id", "instance_id", "connection_pool_size",
                            "max_receive_message_size", "container", "shared_name"]}),
    "DatasetToBigtable": E([NS], "TF 1.x contrib.bigtable: writes every element of "
                           "`input_dataset` to a Bigtable table. manual: " + _LEGACY,
                           payloads=[("input_dataset", "data")], manual=True,
                           legacy={"inputs": ["table", "input_dataset", "column_families",
                                              "columns", "timestamp"], "attrs": []}),
    "BigtableLookupDataset": E([NR], "TF 1.x contrib.bigtable: reads rows from Bigtable. "
                               "manual: " + _LEGACY, manual=True,
                               legacy={"inputs": ["keys_dataset", "table", "column_families",
                                                  "columns"], "attrs": []}),
    "BigtablePrefixKeyDataset": E([NR], "TF 1.x contrib.bigtable: reads row keys from "
                                  "Bigtable. manual: " + _LEGACY, manual=True,
                                  legacy={"inputs": ["table", "prefix"], "attrs": []}),
    "BigtableRangeKeyDataset": E([NR], "TF 1.x contrib.bigtable: reads row keys from "
                                 "Bigtable. manual: " + _LEGACY, manual=True,
                                 legacy={"inputs": ["table", "start_key", "end_key"],
                                         "attrs": []}),
    "BigtableSampleKeysDataset": E([NR], "TF 1.x contrib.bigtable: reads sample row keys "
                                   "from Bigtable. manual: " + _LEGACY, manual=True,
                                   legacy={"inputs": ["table"], "attrs": []}),
    "BigtableSampleKeyPairsDataset": E([NR], "TF 1.x contrib.bigtable: reads sample key "
                                       "pairs from Bigtable. manual: " + _LEGACY,
                                       manual=True, legacy={"inputs": None, "attrs": None}),
    "BigtableScanDataset": E([NR], "TF 1.x contrib.bigtable: scans rows from Bigtable. "
                             "manual: " + _LEGACY, manual=True,
                             legacy={"inputs": ["table", "prefix", "start_key", "end_key",
                                                "column_families", "columns",
                                                "probability"], "attrs": []}),
    "DecodeAudio": E([PC, FW], "TF 1.x contrib.ffmpeg: writes `contents` to a temporary "
                     "file and runs the `ffmpeg` executable found on PATH to decode it. "
                     "manual: " + _LEGACY, manual=True,
                     legacy={"inputs": ["contents"], "attrs": [
                         "file_format", "samples_per_second", "channel_count"]}),
    "DecodeAudioV2": E([PC, FW], "TF 1.x contrib.ffmpeg: writes `contents` to a temporary "
                       "file and runs the `ffmpeg` executable found on PATH to decode it. "
                       "manual: " + _LEGACY, manual=True,
                       legacy={"inputs": ["contents", "file_format", "samples_per_second",
                                          "channel_count"], "attrs": ["stream"]}),
    "EncodeAudio": E([PC, FW], "TF 1.x contrib.ffmpeg: runs the `ffmpeg` executable found "
                     "on PATH (through temporary files) to encode audio. manual: "
                     + _LEGACY, manual=True, legacy={"inputs": None, "attrs": None}),
    "EncodeAudioV2": E([PC, FW], "TF 1.x contrib.ffmpeg: runs the `ffmpeg` executable found "
                       "on PATH (through temporary files) to encode audio. manual: "
                       + _LEGACY, manual=True,
                       legacy={"inputs": ["sampled_audio", "file_format",
                                          "samples_per_second", "bits_per_second"],
                               "attrs": []}),
    "DecodeVideo": E([PC, FW], "TF 1.x contrib.ffmpeg: writes `contents` to a temporary file "
                     "and runs the `ffmpeg` executable found on PATH to decode it. manual: "
                     + _LEGACY, manual=True, legacy={"inputs": ["contents"], "attrs": []}),
    "SaveIterator": E([FW], "TF 1.4 only: writes the state of an iterator to the file "
                      "`path`. manual: " + _LEGACY, [("path", "path")], manual=True,
                      legacy={"inputs": ["iterator", "path"], "attrs": []}),
    "RestoreIterator": E([FR], "TF 1.4 only: restores the state of an iterator from the "
                         "file `path`. manual: " + _LEGACY, [("path", "path")], manual=True,
                         legacy={"inputs": ["iterator", "path"], "attrs": []}),
    "InitializeTRTResource": E(
        [FR], "TF-TensorRT (CUDA + TensorRT builds only): loads serialized TensorRT engines "
        "from the file `filename` into a TRT resource. manual: " + _LEGACY,
        [("filename", "path")], manual=True,
        legacy={"inputs": ["resource_handle", "filename"],
                "attrs": ["max_cached_engines_count"]}),
    "SerializeTRTResource": E(
        [FW], "TF-TensorRT (CUDA + TensorRT builds only): writes the engines of a TRT "
        "resource to the file `filename`. manual: " + _LEGACY, [("filename", "path")],
        manual=True, legacy={"inputs": ["resource_name", "filename"],
                             "attrs": ["delete_resource", "save_gpu_specific_engines"]}),
}

# Names the threat model uses. Each must be in CURATED, in EXCLUDED or in
# NOT_AN_OP (checked at build time).
THREAT_MODEL_OPS = [
    "ReadFile", "ImmutableConst", "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2",
    "CSVDataset", "CSVDatasetV2", "ExperimentalCSVDataset", "InitializeTableFromTextFile",
    "InitializeTableFromTextFileV2", "LookupTableExport", "LookupTableExportV2", "WriteFile",
    "Save", "SaveV2", "SaveSlices", "PrintV2", "MatchingFiles", "MatchingFilesDataset",
    "ExperimentalMatchingFilesDataset", "DebugIdentity", "DebugIdentityV2",
    "DebugIdentityV3", "DistributedSave", "RegisterDataset", "RegisterDatasetV2",
    "DataServiceDataset", "DataServiceDatasetV2", "DataServiceDatasetV3",
    "DataServiceDatasetV4", "RpcCall", "RpcClient", "TFRecordDataset", "TFRecordDatasetV2",
    "TextLineDataset", "TextLineDatasetV2", "LMDBDataset", "SqlDataset",
    "ExperimentalSqlDataset", "CacheDataset", "CacheDatasetV2", "SnapshotDataset",
    "SaveDataset", "LoadDataset", "DatasetToTFRecord", "WholeFileReader",
    "WholeFileReaderV2", "ReaderRead", "ReaderReadV2", "Restore", "RestoreV2",
    "RestoreSlice", "MergeV2Checkpoints", "LoadAndRemapMatrix", "CreateSummaryFileWriter",
    "CreateSummaryDbWriter", "DebugNanCount", "DebugNumericSummary", "PyFunc",
    "PyFuncStateless", "EagerPyFunc", "Abort", "SleepDataset", "ExperimentalSleepDataset",
    # named in the threat model as plumbing (path builders, calls, control
    # flow), not as capabilities
    "ShardedFilename", "StringJoin", "Add", "StringFormat", "Substr", "RegexReplace",
    "DecodeBase64", "ReverseV2", "Const", "PartitionedCall", "If", "While", "Case",
]

NOT_AN_OP = {
    "TextLineDatasetV2": "the threat model writes 'TextLineDataset(V2)' but no such op exists "
                         "in any PersistExt list or in the 2.21 registry",
}

# Considered and left out on purpose (reason shown in README.md).
EXCLUDED = {
    "Print": "v1 Print writes to stderr only",
    "ShardedFilename": "pure string formatting of a checkpoint shard name",
    "ShardedFilespec": "pure string formatting of a checkpoint file spec",
    "StringJoin": "pure string op (a path builder, not a capability)",
    "Add": "arithmetic / string concatenation (a path builder, not a capability)",
    "StringFormat": "pure string op (a path builder)",
    "Substr": "pure string op (a path builder)",
    "RegexReplace": "pure string op (a path builder)",
    "DecodeBase64": "pure string op (a path builder)",
    "ReverseV2": "pure tensor op (a path builder)",
    "Const": "holds a value; the linter resolves it when following a target edge",
    "PartitionedCall": "function call (also StatefulPartitionedCall); the linter walks the "
                       "function body",
    "If": "control flow (also StatelessIf); the linter walks the branch functions",
    "While": "control flow (also StatelessWhile); the linter walks the body functions",
    "Case": "control flow (also StatelessCase); the linter walks the branch functions",
    "IdentityReader": "returns the queued work item itself; reads no file",
    "IdentityReaderV2": "returns the queued work item itself; reads no file",
    "DecodeCSV": "parses strings in memory",
    "DebugNumericSummaryV2": "no debug_urls attr: returns the summary as a tensor",
    "DebugGradientIdentity": "no debug_urls attr",
    "WriteSummary": "writes through a summary-writer resource; the path is on "
                    "CreateSummaryFileWriter/CreateSummaryDbWriter (same for the other "
                    "Write*Summary ops, FlushSummaryWriter, CloseSummaryWriter)",
    "SummaryWriter": "only creates the writer resource; no path",
    "StatsAggregatorSetSummaryWriter": "attaches a writer resource; no path",
    "FileSystemSetConfiguration": "sets a file-system option (scheme/key/value); no I/O by itself",
    "GcsConfigureCredentials": "TF 1.x contrib: installs GCS credentials; no I/O by itself",
    "GcsConfigureBlockCache": "TF 1.x contrib: tunes the GCS block cache",
    "BigtableTable": "TF 1.x contrib: only names a table on a BigtableClient",
    "RemoteCall": "runs a graph function on another device of the same cluster; the target "
                  "is a device name, not a network address",
    "Send": "rendezvous within the session/cluster; no address in the graph (also _Send, "
            "_Recv, _HostSend, _HostRecv, Recv)",
    "CollectiveReduceV2": "collectives run inside the configured cluster (all Collective* "
                          "and Nccl* ops)",
    "XlaCustomCall": "calls a compiled-in XLA custom-call target by name; no kernel in the "
                     "CPU build",
    "_XlaHostComputeMlir": "internal TPU host-compute op",
    "TRTEngineOp": "runs a TensorRT engine serialized in the graph; no path or address",
    "RemoteFusedGraphExecute": "TF 1.x contrib: hands a subgraph to a compiled-in remote "
                               "executor; no path or address",
    "CheckPreemption": "reads a coordination-service key; no path or address",
    "SnapshotNestedDatasetReader": "combines reader datasets; no path of its own",
    "LookupTableImport": "fills a table from tensors in memory (also LookupTableImportV2)",
    "ReaderRestoreState": "restores a reader's in-memory state (also V2, ReaderSerializeState*)",
    "DeleteRpcFutureResource": "frees an RPC future",
    "DTensorShardedPrefix": "pure string op computing checkpoint prefixes",
    "BoostedTreesQuantileStreamResourceDeserialize": "in-memory deserialization",
    "MakeIterator": "binds a dataset to an iterator; no I/O of its own",
}


# ---------------------------------------------------------------------------


def _version_key(v):
    return tuple(int(x) for x in v.split("."))


def load_persistext(ref_dir: Path):
    """{release: set(op names)} from the vX.Y.Z files in ref_dir."""
    out = {}
    for entry in sorted(os.listdir(ref_dir)):
        m = re.fullmatch(r"v(\d+\.\d+\.\d+)", entry)
        if not m:
            continue
        ops = set()
        with open(ref_dir / entry, encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, 1):
                line = raw.strip()
                if not line:
                    continue
                parts = [p.strip() for p in line.split(",")]
                if len(parts) != 3 or not parts[1]:
                    raise SystemExit(f"{entry}:{lineno}: unexpected line {line!r}")
                ops.add(parts[1])
        out[m.group(1)] = ops
    if not out:
        raise SystemExit(f"no vX.Y.Z files in {ref_dir}")
    return out


def load_registry():
    """(tf version, {op name: OpDef}) of the installed TensorFlow."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf  # importing registers the ops
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session

    buf = pywrap_tf_session.TF_GetAllOpList()
    try:
        data = pywrap_tf_session.TF_GetBuffer(buf)
    finally:
        pywrap_tf_session.TF_DeleteBuffer(buf)
    op_list = op_def_pb2.OpList()
    op_list.ParseFromString(data)
    return tf.__version__, {op.name: op for op in op_list.op}


def _signature(name, entry, registry):
    """[(input name, is_list)], set(attr names), from_registry."""
    op = registry.get(name)
    if op is not None:
        inputs = [(a.name, bool(a.number_attr or a.type_list_attr)) for a in op.input_arg]
        return inputs, {a.name for a in op.attr}, True
    legacy = entry["legacy"]
    if legacy is None:
        raise SystemExit(f"{name}: not in the installed op registry and no legacy signature")
    inputs = [(n.rstrip("*"), n.endswith("*")) for n in (legacy["inputs"] or [])]
    return inputs, set(legacy["attrs"] or []), False


def _args(name, pairs, roles, inputs, attrs, from_registry, legacy_unknown):
    out = []
    for arg, role in pairs:
        if role not in roles:
            raise SystemExit(f"{name}: role {role!r} of {arg!r} is not one of {sorted(roles)}")
        names = [n for n, _ in inputs]
        if arg in names:
            pos = names.index(arg)
            item = {"kind": "input", "name": arg, "role": role}
            if any(is_list for _, is_list in inputs[:pos]):
                item["after_list"] = True
            else:
                item["index"] = pos
        elif arg in attrs:
            item = {"kind": "attr", "name": arg, "role": role}
        else:
            where = "registry" if from_registry else "legacy signature"
            if legacy_unknown:
                where += " (unknown)"
            raise SystemExit(f"{name}: argument {arg!r} not found in the {where}")
        out.append(item)
    return out


def build(ref_dir: Path):
    tf_version, registry = load_registry()
    persist = load_persistext(ref_dir)
    releases = sorted(set(persist) | {tf_version}, key=_version_key)
    persist_all = set().union(*persist.values())

    missing_tm = [n for n in THREAT_MODEL_OPS
                  if n not in CURATED and n not in EXCLUDED and n not in NOT_AN_OP]
    if missing_tm:
        raise SystemExit(f"threat-model ops not curated or excluded: {missing_tm}")
    for n in NOT_AN_OP:
        if n in registry or n in persist_all:
            raise SystemExit(f"{n} is listed as NOT_AN_OP but exists")
    overlap = set(CURATED) & set(EXCLUDED)
    if overlap:
        raise SystemExit(f"both curated and excluded: {sorted(overlap)}")

    ops = {}
    for name in sorted(CURATED):
        entry = CURATED[name]
        for c in entry["cats"]:
            if c not in CATEGORIES:
                raise SystemExit(f"{name}: unknown category {c!r}")
        if not entry["cats"] and not entry["manual"]:
            raise SystemExit(f"{name}: an entry without categories must be manual")
        inputs, attrs, from_registry = _signature(name, entry, registry)
        legacy_unknown = entry["legacy"] is not None and entry["legacy"]["inputs"] is None
        targets = _args(name, entry["targets"], TARGET_ROLES, inputs, attrs,
                        from_registry, legacy_unknown)
        payloads = _args(name, entry["payloads"], PAYLOAD_ROLES, inputs, attrs,
                         from_registry, legacy_unknown)

        present = [r for r in releases
                   if (r == tf_version and name in registry) or name in persist.get(r, ())]
        if not present:
            raise SystemExit(f"{name}: in no PersistExt list and not registered")
        first, last = present[0], present[-1]
        lo, hi = releases.index(first), releases.index(last)
        missing = [r for r in releases[lo:hi + 1] if r not in present]

        in_persist = name in persist_all
        prov = set()
        if entry["tm"]:
            prov.add("threat-model")
        if from_registry:
            prov.add("registry:{tf}")
        if in_persist:
            prov.add("persistext-reference")
        elif from_registry:
            prov.add("registry-only")
        if entry["manual"] or not from_registry:
            prov.add("manual")
        provenance = [p.format(tf=tf_version) for p in PROVENANCE_ORDER if p in prov]

        ops[name] = {
            "categories": [c for c in CATEGORIES if c in entry["cats"]],
            "targets": targets,
            "payloads": payloads,
            "tf_versions": {"first": first, "last": last, "missing": missing},
            "provenance": provenance,
            "summary": entry["summary"],
        }

    return {
        "schema_version": SCHEMA_VERSION,
        "tf_version_checked": tf_version,
        "categories": list(CATEGORIES),
        "ops": ops,
    }


def render(doc) -> str:
    return json.dumps(doc, sort_keys=True, indent=1) + "\n"


def _validate(doc, schema_path: Path):
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - optional
        print("jsonschema not installed; schema check skipped", file=sys.stderr)
        return
    with open(schema_path, encoding="utf-8") as fh:
        schema = json.load(fh)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(doc)


def main(argv=None):
    sig_dir = Path(__file__).resolve().parent.parent
    repo_root = sig_dir.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", type=Path,
                    default=repo_root / ".." / "shared" / "reference" / "persistext",
                    help="directory holding the PersistExt vX.Y.Z lists "
                         "(default: ../shared/reference/persistext from the repo root)")
    ap.add_argument("--output", type=Path, default=sig_dir / "tf_ops.json")
    ap.add_argument("--schema", type=Path, default=sig_dir / "tf_ops.schema.json")
    ap.add_argument("--check", action="store_true",
                    help="rebuild in memory and fail if --output differs")
    args = ap.parse_args(argv)

    doc = build(args.reference)
    _validate(doc, args.schema)
    text = render(doc)
    if args.check:
        try:
            current = args.output.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            print(f"{args.output} is out of date", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({len(doc['ops'])} ops)")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(doc['ops'])} ops)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

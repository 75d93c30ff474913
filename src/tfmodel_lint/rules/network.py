"""TFL3xx: network access."""

from __future__ import annotations

from tfmodel_lint.findings import Severity
from tfmodel_lint.rules._capability import CapabilityRule


class NetworkSend(CapabilityRule):
    """An op that sends data over the network, with the address it sends to.

    ``DebugIdentity``/``V2``/``V3`` and the debug summary ops stream tensors to
    ``debug_urls`` (``grpc://host:port``); ``DistributedSave``, ``RegisterDataset`` and
    ``DataServiceDataset`` talk to a tf.data service; ``RpcClient``/``RpcCall`` call any
    gRPC server. A file op aimed at another machine's file system (``gs://``, ``s3://``,
    ``hdfs://``, ``http(s)://`` or any scheme but ``file://``/``ram://``) is a network send
    too, with the host in the evidence (``hosts``).

    Severity: high for any literal host or address (``0.0.0.0`` and private ranges
    included) and for any remote file system; medium when the address cannot be
    resolved; low for ``DebugIdentityV2`` aimed at a non-``file://`` URL, which its kernel
    refuses (the op fails and sends nothing: reported as inert).
    """

    code = "TFL301"
    name = "network-send"
    severity = Severity.HIGH
    category = "network_send"
    summary = "Op that sends data to a network address"


class NetworkReceive(CapabilityRule):
    """An op that receives data from the network.

    ``RpcClient`` with ``list_registered_methods=True`` pulls a payload hidden in method
    names; RPC servers and data-service readers receive data from other hosts.

    Severity: high for any literal host or address; medium otherwise.
    """

    code = "TFL302"
    name = "network-receive"
    severity = Severity.HIGH
    category = "network_receive"
    summary = "Op that receives data from a network address"


RULES = [NetworkSend, NetworkReceive]

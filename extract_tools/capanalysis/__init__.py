"""CapAnalysis: which capabilities an op has (offline signals, optional LLM)."""

from extract_tools.capanalysis.evidence import Arg, OpEvidence
from extract_tools.capanalysis.offline import OfflineResult, classify

__all__ = ["Arg", "OfflineResult", "OpEvidence", "classify"]

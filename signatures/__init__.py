"""Capability data (JSON) shipped as ``tfmodel_lint._signatures``; no code lives here."""

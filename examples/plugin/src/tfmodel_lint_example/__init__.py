"""An example tfmodel-lint plugin: one rule pack (prefix ``XMP``) and one reporter."""

__version__ = "0.1.0"

"""learndyn: one DAG that reproduces four studies of how neural networks learn."""

__version__ = "0.1.0"

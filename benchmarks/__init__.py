"""Benchmarks of annie against PyTorch (CPU) and scikit-learn: ``python benchmarks/run.py``."""

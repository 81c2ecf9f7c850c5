"""Benchmarks: a dataset generator at production scale and load scripts (see RESULTS.md)."""

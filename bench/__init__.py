"""Reproducible benchmarks: each prints a table and a last line of ratios to track run to run."""

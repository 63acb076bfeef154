"""Benchmarks: scripts that print their figures beside a bare-Temporal baseline."""

"""Benchmark (`python -m bench`) and load test (`python -m bench.load`): see docs/performance.md."""

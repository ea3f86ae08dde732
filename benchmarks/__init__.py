"""Reproducible benchmarks; `python -m benchmarks.run [--quick]` (make bench / make bench-quick)."""

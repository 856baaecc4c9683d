"""nnx speed benchmarks (`make bench` / `python -m benchmarks`): each prints times and ratios from one run."""

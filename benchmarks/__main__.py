"""Run every benchmark in turn."""

from benchmarks import pipeline, startup

for bench in (startup, pipeline):
    bench.main()

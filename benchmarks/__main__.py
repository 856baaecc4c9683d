"""Run every benchmark in turn."""

from benchmarks import cifar, pipeline, startup

for bench in (startup, pipeline, cifar):
    bench.main()

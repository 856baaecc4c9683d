"""Run every benchmark in turn."""

from benchmarks import startup

for bench in (startup,):
    bench.main()

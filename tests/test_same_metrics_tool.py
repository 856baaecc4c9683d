"""tools/same_metrics.py: jobs are matched by their numbers, so a sweep that gains a variant changes nothing else."""

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import same_metrics  # noqa: E402


def test_an_added_job_renumbers_nothing_and_a_changed_number_is_named():
    before = {"x/0": {"a": 1.0}, "x/1": {"a": 2.0}, "y/0": {"a": 5}}
    after = {"x/0": {"a": 3.0, "new": 1}, "x/1": {"a": 1.0, "new": 1}, "x/2": {"a": 2.0}, "y/0": {"a": 6}}
    assert same_metrics.differences(before, after) == ["x/0: only after", "y/0 a: 5 -> 6"]
    assert same_metrics.differences(before, {"x/0": {"a": 1.0 + 1e-12}}) == ["x/1: only before", "y/0: only before"]

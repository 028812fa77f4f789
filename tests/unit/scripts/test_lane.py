"""scripts/_lane.sh: a background lane of `make test` records its result whatever its command does.

Run through the real bash, under `set -euo pipefail` as scripts/test-run.sh runs it. The CI run of 7909734 ended
with "molecule.log.result: No such file or directory" and without the molecule log: the lane's subshell, which
inherits `set -e`, ended on the failing command before it wrote its result.
"""

from __future__ import annotations

import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[3]


def run_lane(tmp_path: pathlib.Path, command: str) -> subprocess.CompletedProcess[str]:
    script = f"""
set -euo pipefail
source {ROOT / 'scripts/_lane.sh'}
lane_start {tmp_path / "lane.log"} bash -c {command!r}
lane_finish {tmp_path / "lane.log"} "$lane_pid"
echo "rc=$lane_rc"
"""
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)


def test_a_failing_lane_still_records_its_status_and_shows_its_log(tmp_path):
    done = run_lane(tmp_path, "echo scenario rotation failed; exit 3")
    assert done.returncode == 0, done.stderr
    assert "scenario rotation failed" in done.stdout
    assert done.stdout.rstrip().endswith("rc=3")
    status, seconds = (tmp_path / "lane.log.result").read_text().split()
    assert status == "3" and int(seconds) >= 0


def test_a_passing_lane_records_zero(tmp_path):
    done = run_lane(tmp_path, "echo ok")
    assert done.stdout.rstrip().endswith("rc=0"), done.stdout + done.stderr


def test_a_lane_killed_before_its_result_counts_as_failed(tmp_path):
    """The lane's own shell killed (as on a signal): no result file, so the lane counts as failed, loudly."""
    script = f"""
set -euo pipefail
source {ROOT / 'scripts/_lane.sh'}
lane_start {tmp_path / "lane.log"} sleep 5
kill -9 "$lane_pid"
lane_finish {tmp_path / "lane.log"} "$lane_pid"
echo "rc=$lane_rc s=$lane_s"
"""
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.rstrip().endswith("rc=1 s=?"), done.stdout + done.stderr
    assert "ended without recording its result" in done.stderr

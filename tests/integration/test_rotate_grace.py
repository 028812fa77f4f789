"""The grace period of a rotation, end to end on `make demo`'s local host, with two grantees at work.

Real Prometheus and nginx run as plain processes; the grantees are curl loops through nginx (the evidence of use
is nginx's own access log, which the collection configures); the playbooks are run as an operator runs them.

- team-a keeps its old credential until the deadline: it never gets a 401 before it, and the first run after it
  retires the old credential (rotate_credentials with promaccess_rotate: [due], the policy command);
- team-b switches as soon as the hand-off is written: once the quiet time has passed with no use of its old
  credential in the log, the next provision_access run retires the old one early, while team-a's stays.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
import time

import pytest

from _demo import grants_playbook as playbook, handoff, run_demo_with_grants, store  # noqa: E402  (tests/integration is on sys.path)
from test_provision_local import curl_status  # noqa: E402

GRACE = 180
QUIET = 20


class Grantee(threading.Thread):
    """A client of the grant: asks nginx every half second with the credential it holds now."""

    def __init__(self, url: str, credential: dict):
        super().__init__(daemon=True)
        self.url, self.credential = url, credential
        self.answers: list[tuple[float, str, int]] = []
        self.halt = threading.Event()

    def hold(self, credential: dict) -> None:
        self.credential = credential

    def run(self):
        while not self.halt.is_set():
            cred = self.credential
            try:
                status = curl_status(self.url, cred["username"], cred["password"])
            except Exception:  # pylint: disable=broad-exception-caught  # curl failed: no answer is a failure too
                status = 0
            self.answers.append((time.time(), cred["password"][-6:], status))
            self.halt.wait(0.5)

    def stop(self):
        self.halt.set()
        self.join(timeout=30)


def utc(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    yield from run_demo_with_grants(tmp_path_factory.mktemp("grace-state"), promaccess_rotate_grace="%ds" % GRACE,
                                    promaccess_rotate_quiet="%ds" % QUIET)


def ok(run):
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:]
    return run


@pytest.mark.slow
def test_grace_period_retires_early_on_silence_and_at_the_deadline(demo):
    state, env = demo
    url = "http://127.0.0.1:%s/prometheus/api/v1/query?query=up" % env["PROMACCESS_DEMO_NGINX_PORT"]
    old = {g: handoff(state, g) for g in ("team-a", "team-b")}
    grantees = {g: Grantee(url, old[g]) for g in old}
    for g in grantees.values():
        g.start()
    outputs = []
    try:
        time.sleep(2)
        # -- rotate both: the run stops after the hand-off, old and new both valid, a deadline recorded ---------
        started = int(time.time())
        run = ok(playbook(env, state, "rotate_credentials", "-e", '{"promaccess_rotate": ["team-a", "team-b"]}'))
        ended = time.time()
        outputs.append(run)
        grants = store(state)
        for name in ("team-a", "team-b"):
            rotation = grants[name]["rotation"]
            assert rotation["phase"] == "handed_off", rotation["phase"]
            # the deadline the message names: the grace period from a moment of this run, set before the store
            # recorded the hand-off (bounds from the run's own start and end, whatever the machine's load)
            assert started + GRACE <= utc(rotation["grace_until"]) <= ended + GRACE
            assert started <= utc(rotation["handed_off_at"]) <= ended
            assert utc(rotation["grace_until"]) - utc(rotation["handed_off_at"]) <= GRACE
        new = {g: handoff(state, g) for g in old}
        deadline = utc(grants["team-a"]["rotation"]["grace_until"])
        until = grants["team-a"]["rotation"]["grace_until"].replace("T", " ")[:16] + " UTC"
        assert ("The old one keeps working until %s" % until) in (state / "handoff/team-a/message.txt").read_text()
        for g in old:
            assert curl_status(url, old[g]["username"], old[g]["password"]) == 200
            assert curl_status(url, new[g]["username"], new[g]["password"]) == 200
        assert "old and new credentials both stay valid until" in run.stdout
        assert "the quiet time (%d s) has not passed since the hand-off" % QUIET in run.stdout

        # -- team-b switches at once; team-a keeps its old credential -------------------------------------------
        grantees["team-b"].hold(new["team-b"])
        switched = time.time()
        time.sleep(max(0.0, switched + QUIET + 3 - time.time()))

        # -- a provision run after the quiet time: team-b's old credential retired early, team-a's kept -----------
        run = ok(playbook(env, state, "provision_access"))
        outputs.append(run)
        grants = store(state)
        assert "rotation" not in grants["team-b"] and grants["team-b"]["username"] == new["team-b"]["username"]
        assert grants["team-a"]["rotation"]["phase"] == "handed_off"
        assert curl_status(url, old["team-b"]["username"], old["team-b"]["password"]) == 401
        assert curl_status(url, new["team-b"]["username"], new["team-b"]["password"]) == 200
        assert curl_status(url, old["team-a"]["username"], old["team-a"]["password"]) == 200
        assert "the old credential was used at" in run.stdout
        # retired because unused, not because the deadline had come (team-a's is kept, so it had not)
        assert re.search(r"""["']reason["']: ["']silent["']""", run.stdout), run.stdout[-4000:]

        # -- the access report: per credential when it was last used, the deadline, the policy --------------------
        reports = state / "reports"
        outputs.append(ok(playbook(env, state, "access_report", "-e", json.dumps({"promaccess_report_dir": str(reports)}))))
        report = json.loads((reports / "access-report.json").read_text())
        by_grant = {g["grant"]: g for g in report["grants"]}
        assert by_grant["team-a"]["grace_until"] == grants["team-a"]["rotation"]["grace_until"]
        assert by_grant["team-a"]["rotation"] == "in progress" and by_grant["team-b"]["rotation"] == "ok"
        rows = {(r["grant"], r["role"], r["target"]): r for r in report["rows"]}
        # team-a's grantee still uses the old one; the new one was last used by this test's own check above
        assert utc(rows["team-a", "current", "nginx"]["last_seen"]) >= switched + QUIET
        assert utc(rows["team-a", "pending", "nginx"]["last_seen"]) < switched
        assert utc(rows["team-b", "current", "nginx"]["last_seen"]) >= switched + QUIET
        assert report["summary"]["drift"] == 0, report["findings"]

        # -- after the deadline, the policy command retires team-a's old credential -------------------------------
        time.sleep(max(0.0, deadline + 1 - time.time()))
        run = ok(playbook(env, state, "rotate_credentials", "-e", '{"promaccess_rotate": ["due"]}'))
        outputs.append(run)
        assert "resuming team-a" in run.stdout
        grants = store(state)
        assert "rotation" not in grants["team-a"] and grants["team-a"]["rotated_at"]
        assert curl_status(url, old["team-a"]["username"], old["team-a"]["password"]) == 401
        assert curl_status(url, new["team-a"]["username"], new["team-a"]["password"]) == 200
    finally:
        for g in grantees.values():
            g.stop()

    # team-a was never refused before its deadline; team-b never at all
    a = grantees["team-a"].answers
    assert a and all(status == 200 for t, _tail, status in a if t < deadline), [x for x in a if x[2] != 200][:5]
    b = grantees["team-b"].answers
    assert b and all(status == 200 for _t, _tail, status in b), [x for x in b if x[2] != 200][:5]
    assert {tail for _t, tail, _s in b} == {old["team-b"]["password"][-6:], new["team-b"]["password"][-6:]}
    # No user name or password in any output, nor in the report
    text = "".join(r.stdout + r.stderr for r in outputs) + (state / "reports/access-report.md").read_text()
    for cred in list(old.values()) + list(new.values()):
        assert cred["username"] not in text and cred["password"] not in text

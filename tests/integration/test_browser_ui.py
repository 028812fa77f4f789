"""A real browser opens the Prometheus UI through nginx with a granted credential (issue 4, "Proof"), over HTTPS.

provision_access.yml runs as `make demo` does (real Prometheus and nginx as plain processes on free loopback
ports, temporary state folder), with TLS on (``PROMACCESS_DEMO_TLS=always``: the playbook's local CA, as on every
listener beyond loopback); team-a's credential comes out of its age hand-off file, and the CA's certificate from
the hand-off folder goes into the browser's own NSS database (``certutil``), as a person would import it: the
browser verifies the certificate, no check is turned off. Debian's headless
Chromium, driven by playwright-core (tests/browser/check_ui.mjs), opens <external URL>graph, follows the
redirects to the classic UI, waits for every asset, runs the query ``up`` and takes a screenshot; a second
browser without credentials must get 401. The screenshot and the JSON summary are kept under
tests/output/browser/.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from _demo import handoff, run_demo, self_scrape_targets  # noqa: E402  (tests/integration is on sys.path)

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OUTPUT = REPO / "tests" / "output" / "browser"
SCREENSHOT = OUTPUT / "prometheus-ui.png"
SUMMARY = OUTPUT / "summary.json"


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium and playwright-core, installed from the project's files (scripts/browser-deps.sh)."""
    run = subprocess.run(
        [str(REPO / "scripts" / "browser-deps.sh")], capture_output=True, text=True, check=False, timeout=1800,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return run.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The same set-up as test_provision_local.py's (tests/integration/_demo.py), over TLS."""
    yield from run_demo(tmp_path_factory.mktemp("demo-state"), PROMACCESS_DEMO_TLS="always")


def trusting_home(home: Path, ca: Path) -> Path:
    """A HOME whose NSS database (~/.pki/nssdb, where Chromium on Linux looks) trusts ``ca`` for TLS servers."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", "sql:%s" % nssdb, "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", "sql:%s" % nssdb, "-A", "-t", "C,,", "-n", "promaccess demo CA", "-i", str(ca)],
                   check=True, capture_output=True)
    return home


@pytest.fixture(scope="module")
def ui(chromium, demo, tmp_path_factory):
    """Run tests/browser/check_ui.mjs once; the credential goes through the environment, never argv."""
    state, env, first = demo
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    cred = handoff(state)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    assert cred["url"].startswith("https://")
    # The query `up` must find the self-scrape's sample: wait for its first scrape over HTTPS (bounded).
    assert '"health":"up"' in self_scrape_targets(state, env)
    home = trusting_home(tmp_path_factory.mktemp("browser-home"), state / "handoff" / "team-a" / "ca.crt")
    env = dict(os.environ, HOME=str(home), PROMACCESS_UI_USERNAME=cred["username"],
               PROMACCESS_UI_PASSWORD=cred["password"])
    run = subprocess.run(
        [
            "node", str(REPO / "tests" / "browser" / "check_ui.mjs"),
            "--url", cred["url"],
            "--screenshot", str(SCREENSHOT),
            "--chromium", chromium,
            "--timeout-ms", "90000",
            "--profile-root", str(tmp_path_factory.mktemp("chromium-profiles")),
        ],
        env=env, capture_output=True, text=True, check=False, timeout=600, cwd=str(REPO / "tests" / "browser"),
    )
    for secret in (cred["username"], cred["password"]):
        assert secret not in run.stdout and secret not in run.stderr
    assert run.stdout.strip(), run.stderr[-4000:]
    SUMMARY.write_text(run.stdout)
    summary = json.loads(run.stdout)
    # Recorded for docs/testing.md (a time is measured in the benchmark, never asserted in a test).
    print("graph page through nginx loaded in %s ms" % summary.get("graph_page_ms"))
    return cred, summary, run


def png_facts(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values in the decoded image data of a PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@pytest.mark.slow
def test_ui_renders_with_its_assets_under_the_prefix(ui):
    cred, summary, run = ui
    assert summary["ok"] is True and summary["failures"] == [], json.dumps(summary["failures"], indent=1)
    assert run.returncode == 0
    prefix = cred["url"]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(prefix))
    assert summary["final_url"].startswith(prefix + "classic/graph")
    assert "Prometheus" in summary["title"]
    statuses = [(r["url"], r["status"]) for r in summary["responses"]]
    # The redirects the classic UI takes, then the page and its assets, all through nginx under the prefix.
    assert (prefix + "graph", 301) in statuses and (prefix + "graph/", 302) in statuses
    same_origin = [(u, s) for u, s in statuses if u.startswith(origin + "/")]
    assert same_origin == statuses, "requests left the nginx origin"
    assert all(u.startswith(prefix) for u, _unused in same_origin)
    assert [(u, s) for u, s in same_origin if s >= 400] == []
    static = [(u, s) for u, s in same_origin if u.startswith(prefix + "classic/static/")]
    assert len(static) >= 15 and all(s == 200 for _unused, s in static), static
    for asset in ("jquery.min.js", "bootstrap.min.css", "js/graph/index.js", "graph_template.handlebar"):
        assert any(asset in u for u, _unused in static), asset
    assert summary["failed_requests"] == [] and summary["page_errors"] == []
    elements = summary["elements"]
    assert elements["expression_input"] and elements["execute_button"]
    assert elements["navbar_brand"] == "Prometheus"
    assert elements["navbar_background"] == "rgb(52, 58, 64)"  # Bootstrap's CSS applied
    # The query ran through nginx with the credential and Prometheus's self-scrape (with its own credential) works.
    assert isinstance(summary["graph_page_ms"], int) and summary["graph_page_ms"] > 0  # recorded
    assert summary["query"]["status"] == 200 and summary["query"]["rows"] >= 1
    assert summary["query"]["first_row"].startswith("up{") and summary["query"]["first_row"].endswith(" 1")


@pytest.mark.slow
def test_same_page_without_credentials_is_refused(ui):
    _unused, summary, _unused = ui
    anonymous = summary["anonymous"]
    assert set(anonymous) == {"page", "static_asset"}
    for name, result in anonymous.items():
        assert result["status"] == 401, (name, result)
        assert result["other_responses"] == [], (name, result)


@pytest.mark.slow
def test_screenshot_is_kept(ui):
    _unused, summary, _unused = ui
    assert summary["screenshot"] == str(SCREENSHOT)
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 10_000
    width, height, distinct = png_facts(SCREENSHOT)
    assert width >= 1280 and height >= 800
    assert distinct > 16, "the screenshot looks blank"
    summary_text = SUMMARY.read_text()
    cred = ui[0]
    assert cred["password"] not in summary_text and cred["username"] not in summary_text

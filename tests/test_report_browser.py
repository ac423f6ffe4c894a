"""report.html in a real browser: headless Chromium (Debian's package), started with no network.

The test drives Chromium through the DevTools protocol (websocket-client): it opens the report
of a small real run from its file, then checks that nothing logged an error, that nothing but
the file itself and data: URIs was requested, that every image decoded (naturalWidth > 0) and
is not blank, and that the summary table shows summary.json's numbers (to the three significant
digits the report prints). A page with a broken image and a console error checks that the
harness does catch them.

Chromium comes from ``apt-get install chromium`` (.ci/run installs it). Without it the tests
skip, unless ``TROPISM_REQUIRE_BROWSER=1`` (set by .ci/run), where they fail.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tropism.api import Result
from tropism.report import write_report

REQUIRED = os.environ.get("TROPISM_REQUIRE_BROWSER") == "1"
MISSING = "\u2013"
TIMEOUT = 60.0  # s: start-up and page load on a slow CI machine


def _chromium() -> str | None:
    for name in (os.environ.get("TROPISM_CHROMIUM"), "chromium", "chromium-browser"):
        if name and (path := shutil.which(name)):
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (TROPISM_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


class Cdp:
    """A minimal DevTools-protocol client: commands with replies, events kept in order."""

    def __init__(self, url: str):
        import websocket

        # suppress_origin: Chromium refuses websocket clients that send an Origin header
        # unless it was started with --remote-allow-origins
        self.ws = websocket.create_connection(url, timeout=TIMEOUT, suppress_origin=True)
        self.events: list[dict] = []
        self._id = 0

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg: dict = {"id": self._id, "method": method, "params": params or {}}
        if session is not None:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        seen = 0
        while True:
            for ev in self.events[seen:]:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return ev
            seen = len(self.events)
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} within {TIMEOUT} s")
            self.events.append(json.loads(self.ws.recv()))

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = _chromium()
    if exe is None:
        _unavailable("Chromium is not installed (apt-get install chromium)")
    try:
        import websocket  # noqa: F401
    except ImportError:
        _unavailable("websocket-client is not installed (pip install -e '.[test]')")
    root = tmp_path_factory.mktemp("chromium")
    profile = root / "profile"  # fresh: no cached state, no first-run
    log = (root / "chromium.log").open("wb")
    args = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        # no network: names resolve nowhere, and anything else goes to a closed port
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (active.exists() and len(active.read_text().splitlines()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (root / "chromium.log").read_text(errors="replace")[-2000:]
                raise AssertionError(f"Chromium did not start (exit {proc.poll()}):\n{tail}")
            time.sleep(0.1)
        port, path = active.read_text().splitlines()[:2]
        cdp = Cdp(f"ws://127.0.0.1:{port}{path}")
        yield cdp
        cdp.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


PAGE_STATE = """
(async () => {
  const images = [];
  for (const img of Array.from(document.images)) {
    let decoded = true;
    try { await img.decode(); } catch (e) { decoded = false; }
    let differing = 0;
    if (img.naturalWidth > 0) {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      for (let i = 4; i < d.length; i += 4) {
        if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) {
          differing++;
        }
      }
    }
    images.push({alt: img.alt, decoded: decoded, complete: img.complete,
                 width: img.naturalWidth, height: img.naturalHeight, differing: differing});
  }
  const rows = Array.from(document.querySelectorAll('#summary-table tbody tr')).map(tr => {
    const cells = {};
    for (const td of tr.querySelectorAll('td')) {
      cells[td.classList[td.classList.length - 1]] = td.textContent.trim();
    }
    return {condition: tr.dataset.condition, readout: tr.dataset.readout, cells: cells};
  });
  return {images: images, rows: rows, title: document.title};
})()
"""


def _open(cdp: Cdp, path: Path) -> tuple[dict, list[str], list[str]]:
    """Load a file in a new tab: (page state, error messages, URLs requested)."""
    target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    start = len(cdp.events)
    for domain in ("Page", "Runtime", "Log", "Network"):
        cdp.send(f"{domain}.enable", session=session)
    cdp.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
    cdp.wait_for("Page.loadEventFired", session)
    state = cdp.send(
        "Runtime.evaluate",
        {"expression": PAGE_STATE, "awaitPromise": True, "returnByValue": True},
        session=session,
    )
    assert "exceptionDetails" not in state, state.get("exceptionDetails")
    errors, urls = [], []
    for ev in cdp.events[start:]:
        if ev.get("sessionId") != session:
            continue
        method, params = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            urls.append(params["request"]["url"])
    cdp.send("Target.closeTarget", {"targetId": target})
    return state["result"]["value"], errors, urls


def _shown(text: str, value) -> bool:
    """The report's text for a number equals the value to three significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return text == MISSING
    if isinstance(value, int):
        return text == str(value)
    return text != MISSING and float(text) == float(f"{value:.2e}")


def _interval(text: str) -> list[str]:
    assert text.startswith("[") and text.endswith("]"), text
    return [s.strip() for s in text[1:-1].split(",")]


@pytest.fixture(scope="module")
def report(small_result, tmp_path_factory):
    r = small_result  # a copy, so that saving it does not change the shared result
    copy = Result(r.summary, r.metrics, r.tracks, r.fields, r.scenario_text, dict(r.meta))
    run = copy.save(tmp_path_factory.mktemp("browser") / "run")
    path = write_report(copy, run)
    return path, json.loads((run / "summary.json").read_text(encoding="utf-8"))


def test_report_renders_without_errors_and_with_every_image(browser, report):
    path, summary = report
    state, errors, urls = _open(browser, path)
    assert errors == []
    assert urls and all(u == path.resolve().as_uri() or u.startswith("data:") for u in urls), urls
    assert state["title"].startswith(summary["scenario"])
    figures = sorted((path.parent / "figures").glob("*.png"))
    assert len(state["images"]) == len(figures) >= 5
    for img in state["images"]:
        assert img["decoded"] and img["complete"], img
        assert img["width"] > 0 and img["height"] > 0, img
        assert img["differing"] > 0.01 * img["width"] * img["height"], img  # not blank


def test_report_table_shows_the_numbers_of_summary_json(browser, report):
    path, summary = report
    state, _, _ = _open(browser, path)
    rows = {(r["condition"], r["readout"]): r["cells"] for r in state["rows"]}
    comps = {(c["condition"], c["readout"]): c for c in summary["comparisons"]}
    expected = [(c["name"], n) for n in summary["readouts"] for c in summary["conditions"]]
    assert [(r["condition"], r["readout"]) for r in state["rows"]] == expected
    for cond in summary["conditions"]:
        for name, d in cond["readouts"].items():
            cells = rows[(cond["name"], name)]
            assert _shown(cells["n"], d["n"])
            assert _shown(cells["mean"], d["mean"]), (cells, d)
            lo, hi = _interval(cells["ci"])
            assert _shown(lo, d["ci_low"]) and _shown(hi, d["ci_high"]), (cells, d)
            comp = comps.get((cond["name"], name))
            if comp is None:
                assert cells["fc"] == "control" and cells["p"] == MISSING
                continue
            # vs control: the fold change (x) where its Fieller interval is bounded, else the
            # difference of the means (+/-)
            effect, _, interval = cells["fc"].partition(" ")
            lo, hi = _interval(interval)
            if comp["fc_ci_low"] is not None:
                assert effect.startswith("\u00d7"), cells
                assert _shown(effect[1:], comp["fold_change"]), (cells, comp)
                assert _shown(lo, comp["fc_ci_low"]) and _shown(hi, comp["fc_ci_high"])
            else:
                assert _shown(effect.removeprefix("+"), comp["difference"]), (cells, comp)
                assert _shown(lo, comp["diff_ci_low"]) and _shown(hi, comp["diff_ci_high"])
            assert _shown(cells["p"], comp["p_value"]), (cells, comp)


def test_the_harness_catches_a_broken_image_and_a_console_error(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>broken</title></head><body>"
        '<img alt="broken" src="data:image/png;base64,iVBORw0KGgoAAAA">'
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    state, errors, _ = _open(browser, page)
    assert "boom" in " ".join(errors)
    (img,) = state["images"]
    assert not img["decoded"] and img["width"] == 0

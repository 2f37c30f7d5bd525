"""Headless chromium for the report tests, driven over its DevTools protocol on 127.0.0.1.

A page is opened in an emulated screen of the width asked (a phone's 390 px is narrower than the
smallest headless window, so the window size alone would not do), and the browser reports what
the page did: every request (only file: and data: URLs are allowed), every console message and
uncaught error (the pages' Content-Security-Policy reports each load it blocks there), and the
element reaching furthest right once every <details> is open. Host names resolve to nothing, so
even a slip could not reach a host.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from websockets.sync.client import connect

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]  # fmt: skip

# Closed <details> lay out nothing: open them all, then find the element reaching furthest right.
MEASURE = """(() => {
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  let right = 0, element = "";
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > right) {
      right = box.right;
      element = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (typeof el.className === "string" && el.className ? "." + el.className : "");
    }
  }
  return JSON.stringify({viewport: document.documentElement.clientWidth, right, element, scroll_width: document.documentElement.scrollWidth});
})()"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    # `make test` installs it (or says how) before any test runs: a missing browser is a failure, not a skip.
    assert found, "the HTML report tests need Debian's chromium: apt-get install -y chromium"
    return found


@dataclass
class PageVisit:
    url: str
    width: int
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    layout: dict = field(default_factory=dict)
    dom: str = ""

    @property
    def off_disk_requests(self) -> list[str]:
        return [u for u in self.requests if not (u.startswith("file:") or u.startswith("data:"))]


class Browser:
    """One headless chromium for a test module; visit() opens a page in a fresh tab."""

    def __init__(self, profile: Path) -> None:
        profile.mkdir(parents=True, exist_ok=True)
        port_file = profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a reused profile keeps the last browser's port
        self.process = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not (port_file.exists() and len(port_file.read_text().split()) == 2):
                assert time.monotonic() < deadline and self.process.poll() is None, "chromium did not start its DevTools endpoint"
                time.sleep(0.1)
            port, path = port_file.read_text().split()
            self.socket = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        except BaseException:
            self.process.kill()
            raise
        self.ids = itertools.count(1)

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)

    def _send(self, method: str, session: str | None = None, **params) -> int:
        message_id = next(self.ids)
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        return message_id

    def _call(self, method: str, session: str | None = None, events: list | None = None, **params) -> dict:
        """Send one command and wait for its answer, keeping the events that arrive meanwhile."""
        message_id = self._send(method, session, **params)
        while True:
            message = json.loads(self.socket.recv(timeout=120))
            if message.get("id") == message_id:
                assert "error" not in message, f"{method}: {message['error']}"
                return message.get("result", {})
            if events is not None and "method" in message:
                events.append(message)

    def visit(self, url: str, width: int, height: int = 900, screenshot: Path | None = None, measure: bool = True) -> PageVisit:
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        session = self._call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        events: list[dict] = []
        for domain in ("Page", "Network", "Runtime", "Log"):
            self._call(f"{domain}.enable", session, events)
        self._call("Emulation.setDeviceMetricsOverride", session, events, width=width, height=height, deviceScaleFactor=1, mobile=width < 600)
        self._call("Page.navigate", session, events, url=url)
        deadline = time.monotonic() + 120
        while not any(e["method"] == "Page.loadEventFired" for e in events):
            assert time.monotonic() < deadline, f"{url} did not load"
            events.append(json.loads(self.socket.recv(timeout=120)))
        visit = PageVisit(url, width)
        visit.dom = self._call("Runtime.evaluate", session, events, expression="document.documentElement.outerHTML", returnByValue=True)["result"]["value"]
        if measure:
            visit.layout = json.loads(self._call("Runtime.evaluate", session, events, expression=MEASURE, returnByValue=True)["result"]["value"])
        if screenshot is not None:  # after MEASURE opened every <details>: the TPS rows show
            metrics = self._call("Page.getLayoutMetrics", session, events)
            full = min(int(metrics["cssContentSize"]["height"]), 6000)
            shot = self._call("Page.captureScreenshot", session, events, format="png", captureBeyondViewport=True,
                              clip={"x": 0, "y": 0, "width": width, "height": full, "scale": 1})  # fmt: skip
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        for event in events:
            params = event.get("params", {})
            if event["method"] == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif event["method"] == "Runtime.consoleAPICalled":
                visit.console.append(f"console.{params['type']}: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif event["method"] == "Runtime.exceptionThrown":
                visit.console.append("uncaught: " + params["exceptionDetails"].get("text", ""))
            elif event["method"] == "Log.entryAdded":
                visit.console.append(f"{params['entry']['level']}: {params['entry']['text']}")
        self._call("Target.closeTarget", targetId=target)
        return visit

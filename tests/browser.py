"""One headless chromium for many pages, driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

The browser test of the site (tests/test_site_chrome.py) loads each page once in it: what the page downloads
(bytes and requests, the cache off), what its console says in a fresh profile, and what scripts run in the page
find (axe-core, the sidebars' toggles, the widths of display equations), at 1400 and 420 px, light and dark.
Nothing but the standard library: the protocol is JSON messages ended by a NUL byte, on file descriptors 3
(commands in) and 4 (events and answers out).
"""
from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio"]


class BrowserError(RuntimeError):
    pass


class Browser:
    """A chromium process and one page (tab) in it; :meth:`load` a URL, :meth:`run` a script in it."""

    def __init__(self, exe: str, profile, timeout: float = 120):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # chromium reads commands on fd 3 and writes on fd 4: move the pipe's ends there in the child
        # (first out of the way, so that neither end is overwritten when it already sits on 3 or 4)
        high_r, high_w = 100, 101

        def wire():
            os.dup2(to_chrome_r, high_r)
            os.dup2(from_chrome_w, high_w)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen([exe, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                      "about:blank"], preexec_fn=wire, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.timeout = timeout
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)
        self.call("Network.setCacheDisabled", session=True, cacheDisabled=True)

    # -- the protocol ----------------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise BrowserError("chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: bool = False, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def _pump(self, seconds: float) -> None:
        """Collect the events that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.events.append(self._read_message(deadline))
            except BrowserError as error:
                if "in time" in str(error):
                    return
                raise

    # -- pages -----------------------------------------------------------------------------------------
    def viewport(self, width: int, height: int = 900, dark: bool | None = None) -> None:
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 600)
        if dark is not None:
            self.call("Emulation.setEmulatedMedia", session=True,
                      features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])

    def load(self, url: str, quiet: float = 0.5) -> dict:
        """Open ``url`` and wait for its load event and then ``quiet`` seconds without a request. What it
        downloaded and what its console said: ``{"bytes", "requests", "failed", "console"}``."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._read_message(deadline))
        while True:  # until no request has started or ended for `quiet` seconds
            count = len(self.events)
            self._pump(quiet)
            if len(self.events) == count or time.monotonic() > deadline:
                break
        return self.summary()

    def summary(self) -> dict:
        """What the pages loaded since the last :meth:`load` downloaded, failed to download and logged as errors."""
        sent, size, failed, console = {}, {}, [], []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent" and not params["request"]["url"].startswith("data:"):
                sent[params["requestId"]] = params["request"]["url"]
            elif method == "Network.loadingFinished":
                size[params["requestId"]] = params["encodedDataLength"]
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                failed.append(f"{params['response']['status']} {params['response']['url']}")
            elif method == "Network.loadingFailed":
                failed.append(f"{params.get('errorText')} {sent.get(params['requestId'])}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                console.append(details.get("exception", {}).get("description") or details.get("text"))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                console.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
        return {"bytes": sum(size.get(r, 0) for r in sent), "requests": len(sent), "urls": sorted(sent.values()),
                "failed": failed, "console": console}

    def run(self, expression: str):
        """The value of a script (a promise is awaited) run in the page."""
        result = self.call("Runtime.evaluate", session=True, expression=expression, awaitPromise=True,
                           returnByValue=True, timeout=int(self.timeout * 1000))
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def screenshot(self, path, full_page: bool = False) -> None:
        params = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            metrics = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": metrics["width"], "height": min(metrics["height"], 12000),
                              "scale": 1}
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except BrowserError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

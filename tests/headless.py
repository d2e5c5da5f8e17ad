"""Drive Debian's headless Chromium through the DevTools protocol over a pipe: no websocket, no extra package.

Chromium started with ``--remote-debugging-pipe`` reads protocol commands on
file descriptor 3 and writes replies and events on 4, each a JSON message
ended by a NUL byte (what Puppeteer's ``pipe: true`` does). That is enough to
open a page at a chosen width, emulate print media, run JavaScript in it,
print it to PDF and take screenshots: what tests/test_report.py checks a
report with, and docs/make_report_screenshots.py pictures it with.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

A4_MM = (210.0, 297.0)
PRINT_MARGINS_MM = (14.0, 12.0)
"""The report's ``@page`` margins (top/bottom, left/right): bayes_ubpr.report.render.STYLE."""

PX_PER_MM = 96 / 25.4

TIMEOUT_SECONDS = 120
"""How long to wait for any reply of the browser before giving up (a hung browser fails the test, not CI)."""


def a4_content_width_px() -> int:
    """Width in CSS pixels of an A4 portrait page inside the report's print margins (703 px)."""
    return round((A4_MM[0] - 2 * PRINT_MARGINS_MM[1]) * PX_PER_MM)


def available() -> bool:
    """Whether Debian's ``chromium`` is on the PATH."""
    return shutil.which("chromium") is not None


class Chromium:
    """One headless Chromium, driven over the DevTools pipe; use as a context manager."""

    def __init__(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="bayes-ubpr-chromium-")
        to_chromium_read, to_chromium_write = os.pipe()
        from_chromium_read, from_chromium_write = os.pipe()

        def wire() -> None:  # in the child, before exec: its fds 3 and 4 are the pipe's ends
            read, write = os.dup(to_chromium_read), os.dup(from_chromium_write)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self._process = subprocess.Popen(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-pipe",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            close_fds=False,
            preexec_fn=wire,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chromium_read)
        os.close(from_chromium_write)
        self._write = os.fdopen(to_chromium_write, "wb", buffering=0)
        self._read = os.fdopen(from_chromium_read, "rb", buffering=0)
        self._buffer = b""
        self._id = 0
        self._events: list[dict[str, Any]] = []
        self.session = ""

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the browser, wait for it, and remove its profile."""
        with contextlib.suppress(OSError, RuntimeError):  # already gone
            self.send("Browser.close", session=None)
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._write.close()
        self._read.close()
        self._profile.cleanup()

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], TIMEOUT_SECONDS)
            if not ready:
                raise RuntimeError(f"chromium sent nothing for {TIMEOUT_SECONDS} s")
            chunk = self._read.read(1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        text, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(text)

    def send(self, method: str, *, session: str | None = "", **params: Any) -> dict[str, Any]:
        """Send one command (to the open page's session unless ``session=None``) and return its result."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        target = self.session if session == "" else session
        if target:
            message["sessionId"] = target
        self._write.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _wait_for(self, event: str) -> dict[str, Any]:
        for k, seen in enumerate(self._events):
            if seen.get("method") == event and seen.get("sessionId") == self.session:
                return self._events.pop(k)
        while True:
            message = self._message()
            if message.get("method") == event and message.get("sessionId") == self.session:
                return message
            self._events.append(message)

    def open(self, path: Path, *, width: int, height: int = 900, media: str = "screen") -> None:
        """Open ``path`` in a new page ``width`` CSS pixels wide, as ``media`` ("screen" or "print") shows it."""
        target = self.send("Target.createTarget", session=None, url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", session=None, targetId=target, flatten=True)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.send("Emulation.setEmulatedMedia", media=media)
        self.send("Page.navigate", url=Path(path).resolve().as_uri())
        self._wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page and return its (JSON) value; raise on a JavaScript error."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def console_errors(self) -> list[str]:
        """Uncaught exceptions and console errors the page produced so far."""
        errors = []
        for event in self._events:
            if event.get("method") == "Runtime.exceptionThrown":
                errors.append(str(event["params"]["exceptionDetails"].get("text")))
            elif event.get("method") == "Runtime.consoleAPICalled" and event["params"].get("type") == "error":
                errors.append(str(event["params"].get("args")))
        return errors

    def print_pdf(self) -> bytes:
        """Print the page to PDF as its print stylesheet asks (A4 portrait, its margins)."""
        result = self.send("Page.printToPDF", preferCSSPageSize=True, printBackground=False)
        return base64.b64decode(result["data"])

    def screenshot(self, *, height: int | None = None, scale: float = 1.0) -> bytes:
        """A PNG of the page from its top: ``height`` CSS pixels (default the whole page), scaled by ``scale``."""
        size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        clip = {"x": 0, "y": 0, "width": size[0], "height": height or size[1], "scale": scale}
        result = self.send("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
        return base64.b64decode(result["data"])


OVERFLOW_SCRIPT = r"""
(() => {
  // Everything in the report must lie inside the content box of its column (<main>): a table, a figure or an
  // image whose right edge passes it is cut off in print and needs sideways scrolling on screen. Cells are
  // checked too: a cell whose content is wider than the cell spills over its neighbour.
  const main = document.querySelector('main');
  const style = getComputedStyle(main);
  const box = main.getBoundingClientRect();
  const right = box.right - parseFloat(style.paddingRight) + 0.5;
  const where = el => { const s = el.closest('section'); return (s ? s.id : '(no section)') + ' ' + el.tagName.toLowerCase(); };
  const offences = [];
  for (const el of document.querySelectorAll('main table, main figure, main img, main .table-wrap, main ul, main p')) {
    const r = el.getBoundingClientRect();
    if (r.right > right) offences.push(`${where(el)} ends at ${r.right.toFixed(0)} px, its column at ${right.toFixed(0)} px`);
    if (el.tagName !== 'IMG' && el.scrollWidth > el.clientWidth + 1)
      offences.push(`${where(el)} content ${el.scrollWidth} px wide in ${el.clientWidth} px`);
  }
  for (const cell of document.querySelectorAll('main td, main th')) {
    if (cell.scrollWidth > cell.clientWidth + 1)
      offences.push(`${where(cell)} "${cell.textContent.slice(0, 40)}" ${cell.scrollWidth} px in a ${cell.clientWidth} px cell`);
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) offences.push(`the page scrolls sideways: ${page.scrollWidth} > ${page.clientWidth} px`);
  return {
    offences,
    column: right - box.left - parseFloat(style.paddingLeft),
    tables: document.querySelectorAll('main table').length,
    images: [...document.querySelectorAll('main img')].filter(i => i.complete && i.naturalWidth > 0).length,
    summary: (document.querySelector('section.summary') || {innerText: ''}).innerText,
  };
})()
"""
"""JavaScript that lists every table, figure or cell wider than its container, and counts what was drawn."""


def check_layout(path: Path, *, width: int, media: str = "screen") -> dict[str, Any]:
    """Open a report at ``width`` px as ``media`` shows it and run :data:`OVERFLOW_SCRIPT` in it."""
    with Chromium() as browser:
        browser.open(path, width=width, media=media)
        found = browser.evaluate(OVERFLOW_SCRIPT)
        found["errors"] = browser.console_errors()
        return found

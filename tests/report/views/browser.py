"""Headless Chromium, the real consumer of the HTML feedback: missing is a failure, never a skip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def chromium(page: Path, *args: str, url: str | None = None) -> str:
    """Run headless Chromium on `page` (or on `url`, with `page`'s folder for its profile) with `args`
    (--dump-dom, --screenshot=...); its stdout. A --dump-dom that prints nothing (headless Chromium
    does so now and then on a loaded machine, exit code 0) is run once more."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.fail("no headless Chromium: install Debian's `chromium` package (make install does, as root)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--user-data-dir=" + str(page.parent / "chromium-profile")]
    command = [*flags, *args, url or page.as_uri()]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout
    if not out.strip() and "--dump-dom" in args:
        out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout
    return out

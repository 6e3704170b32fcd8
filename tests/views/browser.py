"""Headless Chromium, the real consumer of the HTML feedback: missing is a failure, never a skip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def chromium(page: Path, *args: str) -> str:
    """Run headless Chromium on `page` with `args` (--dump-dom, --screenshot=...); its stdout."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.fail("no headless Chromium: install Debian's `chromium` package (make install does, as root)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--user-data-dir=" + str(page.parent / "chromium-profile")]
    return subprocess.run([*flags, *args, page.as_uri()], check=True, capture_output=True, text=True,
                          timeout=120).stdout

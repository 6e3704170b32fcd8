"""Hostile: skips itself at import, hoping skipped reads as passed."""
import pytest

pytest.skip("nothing to grade here", allow_module_level=True)

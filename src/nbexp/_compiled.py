"""The compiled twins of nbexp's hottest loops (`nbexp._native`, built from _native.c at
install: metric extraction's blocks, the renderer's plain text and tokenizer loop), or None:
when the module was not built (no C compiler), was built from an older _native.c, or
NBEXP_NO_NATIVE is set (to compare or to rule it out). Every caller has a pure-Python twin
that gives the same results; tests run both (tests/test_native.py) and CI requires the module
(NBEXP_REQUIRE_NATIVE) so that a broken build cannot go unnoticed behind the fallback.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["native"]

# What _native.c defines today: a module built from an older source (an editable install not
# synced since) lacks some, and is then treated as not built rather than failing a caller.
FUNCTIONS = ("read_block", "read_frames", "plain_lines", "screen_run", "drop_aborted", "clean_text")


def _load() -> ModuleType | None:
    if os.environ.get("NBEXP_NO_NATIVE"):
        return None
    try:
        module = importlib.import_module("nbexp._native")
        missing = [name for name in FUNCTIONS if not hasattr(module, name)]
        if missing:
            raise ImportError(
                f"nbexp._native is out of date (no {', '.join(missing)}): "
                "run `uv sync --reinstall-package nbexp`"
            )
        return module
    except ImportError:
        if os.environ.get("NBEXP_REQUIRE_NATIVE"):
            raise
        return None


native: ModuleType | None = _load()

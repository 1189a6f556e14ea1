"""The compiled twins of nbexp's hottest loops (`nbexp._native`, built from _native.c at
install: metric extraction's blocks, the renderer's plain text), or None: when the module was
not built (no C compiler), or NBEXP_NO_NATIVE is set (to compare or to rule it out). Every
caller has a pure-Python twin that gives the same results; tests run both
(tests/test_native.py) and CI requires the module (NBEXP_REQUIRE_NATIVE) so that a broken
build cannot go unnoticed behind the fallback.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["native"]


def _load() -> ModuleType | None:
    if os.environ.get("NBEXP_NO_NATIVE"):
        return None
    try:
        return importlib.import_module("nbexp._native")
    except ImportError:
        if os.environ.get("NBEXP_REQUIRE_NATIVE"):
            raise
        return None


native: ModuleType | None = _load()

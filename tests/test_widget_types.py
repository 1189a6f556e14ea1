"""js/widget.js against the wire format: its JSDoc @typedefs name the same messages and fields as
the TypedDicts in nbexp._ui.protocol, and `tsc -p js` (checkJs, noEmit: no build step, the file
ships as written) finds no type error in it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import typing
from pathlib import Path
from typing import Any

import pytest

from nbexp._ui import protocol

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "js"
TSC = JS / "node_modules" / ".bin" / "tsc"

TYPEDEF = re.compile(r"/\*\*((?:(?!\*/).)*?@typedef \{object\} (\w+)(?:(?!\*/).)*)\*/", re.S)
PROPERTY = re.compile(r"@property \{[^}]*\} (\[?)(\w+)\]?")


def js_shapes() -> dict[str, dict[str, bool]]:
    """Each `@typedef {object}` in widget.js: its properties, each with whether it is required."""
    source = (JS / "widget.js").read_text()
    return {
        name: {prop: not optional for optional, prop in PROPERTY.findall(block)}
        for block, name in TYPEDEF.findall(source)
    }


def protocol_shapes() -> dict[str, dict[str, bool]]:
    shapes = {}
    for name, value in vars(protocol).items():
        if typing.is_typeddict(value):
            typed_dict: Any = value
            required = typed_dict.__required_keys__
            shapes[name] = {key: key in required for key in typed_dict.__annotations__}
    return shapes


def test_typedefs_mirror_the_protocol() -> None:
    js, py = js_shapes(), protocol_shapes()
    assert len(py) >= 15
    missing = sorted(set(py) - set(js))
    assert not missing, f"protocol.py declares {missing}; add their @typedef to js/widget.js"
    for name, fields in py.items():
        # Ticks and snapshots are total=False in Python, but their "type" is always sent.
        expected = {k: (True if k == "type" else required) for k, required in fields.items()}
        assert js[name] == expected, f"{name}: widget.js {js[name]} != protocol.py {expected}"
    source = (JS / "widget.js").read_text()
    for alias in ("GpuReading", "LineJson"):  # the protocol's plain aliases
        assert hasattr(protocol, alias)
        assert re.search(rf"@typedef \{{[^\n]*\}} {alias}\b", source), alias
    assert source.startswith("// @ts-check\n")


def _cannot_check(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the widget's type check may not be skipped)")
    pytest.skip(reason)


def test_widget_js_type_checks() -> None:
    if shutil.which("node") is None:
        _cannot_check("Node.js is not installed: install it, then run `npm ci --prefix js`")
    if not TSC.exists():
        _cannot_check("TypeScript is not installed: run `npm ci --prefix js`")
    result = subprocess.run(
        [str(TSC), "-p", str(JS / "tsconfig.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"tsc found type errors:\n{result.stdout}{result.stderr}"

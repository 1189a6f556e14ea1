"""`nbexp config [KEY [VALUE]]`: the scheduling settings every process of a home shares."""

from __future__ import annotations

import argparse
import difflib
import json
from contextlib import suppress
from typing import Any

from .._core.errors import UsageError
from .._core.settings import SETTING_HELP, TEXT_SETTINGS, Settings
from .._manager import ExperimentManager
from .base import Handler
from .tables import (
    table,
)

SETTINGS = tuple(SETTING_HELP)  # every setting of a home, in a stable order


def add_verbs(sub: Any, name: str) -> None:
    p = sub.add_parser("config", help="show or change this home's scheduling settings")
    p.add_argument("key", nargs="?", metavar="KEY", help="one setting (default: list them all)")
    p.add_argument(
        "value", nargs="?", metavar="VALUE", help="a whole number (on_end: a command), or none"
    )
    p.add_argument("--unset", action="store_true", help="reset KEY to its default")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _setting_name(key: str) -> str:
    if key in SETTINGS:
        return key
    close = difflib.get_close_matches(key, SETTINGS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"unknown setting {key!r}: use one of {', '.join(SETTINGS)}{hint}")


def _setting_value(key: str, text: str) -> int | str | None:
    if text.strip().lower() == "none":
        return None
    if key in TEXT_SETTINGS:
        return text
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"{key} must be a whole number >= 0 or none, not {text!r}")
    return int(text)


def _settings(manager: ExperimentManager) -> dict[str, tuple[Any, Any, bool]]:
    """Every setting: (value in effect, default, whether it was set)."""
    stored = manager.configure()
    found = {}
    for key in SETTINGS:
        default = getattr(Settings(), key)
        text = stored.get(key)
        value = default
        if text is not None and key in TEXT_SETTINGS:
            value = text
        elif text is not None:
            with suppress(ValueError):
                value = int(text)
        found[key] = (value, default, text is not None)
    return found


def _config_text(value: int | str | None) -> str:
    return "none" if value is None else str(value)


def _config(manager: ExperimentManager, args: argparse.Namespace) -> int:
    if args.key is None:
        if args.unset:
            raise UsageError(f"--unset needs a KEY: {args.program} config KEY --unset")
        settings = _settings(manager)
        if args.json:
            print(
                json.dumps(
                    {k: {"value": v, "default": d, "set": s} for k, (v, d, s) in settings.items()},
                    indent=2,
                )
            )
            return 0
        rows = [
            [key, _config_text(value), _config_text(default), SETTING_HELP[key]]
            for key, (value, default, _) in settings.items()
        ]
        print(table(rows, ["KEY", "VALUE", "DEFAULT", "MEANING"]))
        return 0
    key = _setting_name(args.key)
    if args.value is None and not args.unset:
        print(_config_text(_settings(manager)[key][0]))
        return 0
    if args.value is not None and args.unset:
        raise UsageError(f"give a VALUE or --unset, not both: {args.program} config {key} …")
    value = None if args.unset else _setting_value(key, args.value)
    manager.configure(**{key: value})
    manager.tick()  # a higher limit starts queued experiments now
    print(f"{key} {_config_text(_settings(manager)[key][0])}")
    return 0


HANDLERS: dict[str, Handler] = {"config": _config}

"""A sweep's runs, worked out before anything is created: parameter combinations (a grid, zipped
lists, explicit dicts, or N seeded random draws of them) and, for each, the command with its
`{key}` placeholders filled in. Pure: no I/O; every mistake is one UsageError naming it.

Placeholders follow `str.format`: `{lr}`, `{lr:.0e}`, and `{{` / `}}` for literal braces. They are
filled per argument of the command (a string command is split like a shell would, first), so a
value with spaces stays one argument and nothing reaches a shell unless `shell=True` is asked
for, in which case each value is shell-quoted.
"""

from __future__ import annotations

import math
import random
import shlex
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

MODES = ("grid", "zip")
# A sweep bigger than this is almost surely a typo (a grid of six 10-value lists): say so.
MAX_RUNS = 10_000
_FORMATTER = string.Formatter()
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its command (argv, or one shell line in a list), name and params."""

    command: list[str]
    name: str | None  # the name template filled in; None when no name template was given
    params: dict[str, Any]
    env: dict[str, str]


@dataclass(frozen=True)
class SweepPlan:
    runs: list[SweepRun]
    seed: int | None  # the seed random draws used (None: no draws)


def plan_sweep(
    template: str | Sequence[str],
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    mode: str = "grid",
    samples: int | None = None,
    seed: int | None = None,
    shell: bool = False,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
) -> SweepPlan:
    """Every run of a sweep, or a UsageError before anything exists. `name` and `env` values may
    hold placeholders too; each placeholder must have a parameter and each parameter must be
    used somewhere (a typo in either would otherwise go unnoticed until the runs are done)."""
    words = _template_words(template, shell)
    keys, combos = _combinations(params, mode)
    count = combos.count
    chosen, seed = _choose(count, samples, seed)
    if len(chosen) > MAX_RUNS:
        raise UsageError(
            f"the sweep would make {len(chosen):,} runs (more than {MAX_RUNS:,}): "
            "draw some with samples=N (--samples N)"
        )
    texts = {
        "the command": words,
        "name": [name] if name else [],
        "env": list((env or {}).values()),
    }
    _check_keys(keys, texts)
    runs = [_fill(words, combos.at(index), shell, name, env) for index in chosen]
    return SweepPlan(runs, seed)


# -- the template -------------------------------------------------------------------------------


def _template_words(template: Any, shell: bool) -> list[str]:
    if isinstance(template, str):
        if shell:
            return [template]
        try:
            words = shlex.split(template)
        except ValueError as e:
            raise UsageError(f"cannot parse the command {template!r}: {e}") from None
    elif isinstance(template, Sequence) and not isinstance(template, (bytes, bytearray)):
        words = [str(word) for word in template]
        if shell and len(words) > 1:
            raise UsageError("with shell=True, give the sweep's command as one string")
    else:
        raise UsageError(
            f"the sweep's command must be a string or a list of arguments, not {template!r}"
        )
    if not words or not words[0]:
        raise UsageError("no command given: pass the program to run, e.g. 'python train.py'")
    return words


def placeholders(text: str) -> list[str]:
    """The `{key}` names a text uses, in order (a bad brace is a UsageError)."""
    try:
        fields = [field for _, field, _, _ in _FORMATTER.parse(text) if field is not None]
    except ValueError as e:
        raise UsageError(
            f"bad placeholder in {text!r}: {e} (write {{{{ for a literal brace)"
        ) from None
    for field in fields:
        if not field.isidentifier():
            raise UsageError(
                f"bad placeholder {{{field}}} in {text!r}: use a parameter name such as "
                "{lr}, and {{ }} for literal braces (a Python f-string's, say)"
            )
    return fields


def _check_keys(keys: list[str], texts: dict[str, list[str]]) -> None:
    used: dict[str, str] = {}
    for where, items in texts.items():
        for item in items:
            for key in placeholders(item):
                used.setdefault(key, where)
    missing = [key for key in used if key not in keys]
    if missing:
        raise UsageError(
            f"{used[missing[0]]} uses {{{missing[0]}}}, but params has no {missing[0]!r} "
            f"(params: {', '.join(keys) or 'none'})"
        )
    unused = [key for key in keys if key not in used]
    if unused:
        shown = ", ".join(f"{{{k}}}" for k in used) or "no placeholder"
        raise UsageError(
            f"params gives {unused[0]!r}, but the command uses {shown}: "
            f"add {{{unused[0]}}} where its value goes"
        )


def _fill(
    words: list[str],
    values: dict[str, Any],
    shell: bool,
    name: str | None,
    env: Mapping[str, str] | None,
) -> SweepRun:
    return SweepRun(
        command=[_format(word, values, quote=shell) for word in words],
        name=_format(name, values) if name else None,
        params=dict(values),
        env={k: _format(v, values) for k, v in (env or {}).items()},
    )


class _Filler(string.Formatter):
    """str.format, shell-quoting each value once formatted (for a shell=True command)."""

    def __init__(self, quote: bool) -> None:
        self.quote = quote

    def format_field(self, value: Any, format_spec: str) -> str:
        text = format(value, format_spec)
        return shlex.quote(text) if self.quote else text


def _format(text: str, values: Mapping[str, Any], *, quote: bool = False) -> str:
    try:
        return _Filler(quote).vformat(text, (), values)
    except (ValueError, TypeError) as e:
        raise UsageError(f"cannot fill in {text!r}: {e}") from None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else format(value)


# -- combinations ---------------------------------------------------------------------------


class _Combos:
    """Combination number i, without making the whole grid (a big grid may only be sampled)."""

    def __init__(self, keys: list[str], columns: list[list[Any]], zipped: bool) -> None:
        self.keys, self.columns, self.zipped = keys, columns, zipped
        sizes = [len(c) for c in columns]
        self.count = (sizes[0] if sizes else 1) if zipped else math.prod(sizes)

    def at(self, index: int) -> dict[str, Any]:
        if self.zipped:
            return {k: column[index] for k, column in zip(self.keys, self.columns, strict=True)}
        picked: dict[str, Any] = {}
        for key, column in reversed(list(zip(self.keys, self.columns, strict=True))):
            index, position = divmod(index, len(column))
            picked[key] = column[position]
        return {k: picked[k] for k in self.keys}  # the first key varies slowest, as in a loop


def _combinations(params: Any, mode: str) -> tuple[list[str], _Combos]:
    if mode not in MODES:
        raise UsageError(f"unknown sweep mode {mode!r}: use 'grid' or 'zip'")
    if isinstance(params, Mapping):
        if not params:
            raise UsageError("params is empty: give {name: [values]}, e.g. {'lr': [1e-3, 3e-4]}")
        keys = [_key(k) for k in params]
        columns = [_values(k, params[k]) for k in keys]
        if mode == "zip":
            lengths = {k: len(c) for k, c in zip(keys, columns, strict=True)}
            if len(set(lengths.values())) > 1:
                shown = ", ".join(f"{k}: {n}" for k, n in lengths.items())
                raise UsageError(f"mode='zip' needs lists of one length, not {shown}")
        return keys, _Combos(keys, columns, mode == "zip")
    if isinstance(params, Sequence) and not isinstance(params, (str, bytes)):
        return _explicit(params, mode)
    raise UsageError(
        f"params must be {{name: [values]}} or a list of dicts, not {type(params).__name__}"
    )


def _explicit(rows: Sequence[Any], mode: str) -> tuple[list[str], _Combos]:
    """A list of dicts: each is one run; all must name the same keys."""
    if mode == "zip":
        raise UsageError("mode='zip' pairs up lists: give params as {name: [values]}")
    if not rows:
        raise UsageError("params is an empty list: give at least one dict of values")
    if not all(isinstance(row, Mapping) for row in rows):
        raise UsageError("params as a list must hold dicts, e.g. [{'lr': 1e-3}, {'lr': 3e-4}]")
    keys = [_key(k) for k in rows[0]]
    for number, row in enumerate(rows):
        if list(row) != keys and set(row) != set(keys):
            raise UsageError(
                f"params[{number}] has keys {sorted(row)}, but params[0] has {sorted(keys)}"
            )
    columns = [[_scalar(k, row[k]) for row in rows] for k in keys]
    return keys, _Combos(keys, columns, zipped=True)


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key.isidentifier():
        raise UsageError(f"a parameter name must be a word such as 'lr', not {key!r}")
    return key


def _values(key: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, range, set)):
        values = [values]  # {'epochs': 10} is one value
    column = [_scalar(key, v) for v in values]
    if not column:
        raise UsageError(f"params[{key!r}] has no values")
    return column


def _scalar(key: str, value: Any) -> Any:
    """A value as the store keeps it (JSON): numpy scalars become Python numbers."""
    if not isinstance(value, _SCALARS) and hasattr(value, "item"):
        value = value.item()
    if not isinstance(value, _SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
        raise UsageError(f"params[{key!r}] holds {value!r}: use strings, numbers, booleans or None")
    return value


def _choose(count: int, samples: Any, seed: Any) -> tuple[list[int], int | None]:
    if samples is None:
        if seed is not None:
            raise UsageError("seed only applies with samples=N (--samples N)")
        return list(range(count)), None
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise UsageError(f"samples must be a whole number >= 1, not {samples!r}")
    if samples > count:
        raise UsageError(
            f"samples={samples} but params give only {count} combination"
            f"{'' if count == 1 else 's'}: use samples={count} or fewer"
        )
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError(f"seed must be an integer, not {seed!r}")
    # Numbered draws (not the combinations themselves): a huge grid is never built.
    drawn = random.Random(seed).sample(range(count), samples)
    return sorted(drawn), seed


def typed_value(value: Any) -> Any:
    """Command-line text as the number it reads as ("32" -> 32, "1e-3" -> 0.001); other text,
    and anything not text, as it is."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def describe(params: Mapping[str, Any], limit: int = 60) -> str:
    """`lr=0.001 bs=32`: a run's params in a few words (for default names)."""
    text = " ".join(f"{k}={_text(v)}" for k, v in params.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "MAX_RUNS",
    "MODES",
    "SweepPlan",
    "SweepRun",
    "describe",
    "placeholders",
    "plan_sweep",
    "typed_value",
]

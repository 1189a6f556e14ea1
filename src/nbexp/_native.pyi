# Compiled twins of nbexp's hottest loops (src/nbexp/_native.c); see nbexp/_compiled.py.

def read_block(
    block: bytes,
    first: bytes,
    steps: tuple[tuple[bool, int, bytes, bool], ...],
    final: bytes,
    equals: int,
    colons: int,
    json: bool = False,
) -> tuple[int, list[list[float] | None]] | None: ...

# The frames of a churning tqdm bar (FrameTemplate): counts, a column per value, which changed.
def read_frames(
    data: bytes, pos: int, end: int, prefix: bytes, total: bytes, literals: tuple[bytes, ...]
) -> tuple[list[float], list[list[float]], list[bool]] | None: ...

# The lines of plain text (printable ASCII, newlines) as terminal.render shows them, else None.
def plain_lines(data: bytes, line_cap: int) -> list[str] | None: ...

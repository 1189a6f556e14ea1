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

# Screen._process's loop from text[pos] on the Screen's own state (text, controls, short
# escapes, most CSI and OSC); returns where the first token it leaves to Python starts.
def screen_run(screen: object, text: str, pos: int, span_type: type) -> int: ...

# text with each chain of aborted escape introducers as one ESC (terminal._drop_aborted).
def drop_aborted(text: str) -> str: ...

# text without NUL and C1 controls, a filler after each wide character; and whether one was.
def clean_text(text: str) -> tuple[str, bool]: ...

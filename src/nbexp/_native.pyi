# Compiled twins of two hot loops (src/nbexp/_native.c); see nbexp/_compiled.py.

def read_block(
    block: bytes,
    first: bytes,
    steps: tuple[tuple[bool, int, bytes, bool], ...],
    final: bytes,
    equals: int,
    colons: int,
) -> tuple[int, list[list[float] | None]] | None: ...
def plain_lines(data: bytes, cap: int) -> list[str] | None: ...

"""Pure logic, no I/O: states, records, validation, launch options, the scheduler's plan().

Every module here imports only the standard library and other `_core` modules, so each is
unit-tested in-process and cheap to import (the runner loads some of them).
"""

"""Executors: how an attempt is started, stopped and probed (local runner processes, Slurm).

Each gets a narrow context (home, store) and records, never the manager; a new engine is one
new module implementing `base.Executor`.
"""

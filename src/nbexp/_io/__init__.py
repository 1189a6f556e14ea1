"""Everything that touches the outside world: the store (all SQL), paths, /proc, spawning,
log reading and NVML. Imports only `_core` (and the pure public modules) below it."""

"""The service: one object per nbexp home that owns its store, executors and GPU probe, and the
only place where lifecycle decisions (claims, scheduling steps, GPU ownership) are made."""

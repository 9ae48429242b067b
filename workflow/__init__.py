"""The review cycle: ORM models, the state machine, use cases and the results rules.

Depends on `config` only; `schedules`, `notifiers` and `kiemdiem` build on it.
"""

"""Batch inference: v1's ParallelRunStep semantics on local worker processes.

`spec` (what to run) → `plan` (mini-batches) → `driver` (journal, `pool` of workers,
output assembly) → `launch` (runs in the store, watching). The v1 façade lives in
`modelport.pipeline`; this package knows nothing of it. Kept import-light: workers import
`modelport.batch.worker` with nothing else.
"""

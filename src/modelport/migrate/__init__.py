"""`modelport migrate`: find the Azure ML v1 names a project uses and port its imports.

Static only (no user code runs): `analyze` reads `.py`/`.ipynb` sources against the coverage
table in `coverage.toml`, `rewrite` edits import lines, `docs` renders docs/migration.md.
"""

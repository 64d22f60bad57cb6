"""Profiling: measure a model service under load and recommend the resources it needs.

`Model.profile(...)` (see `profile.py`) ties together the load generator (`load.py`), the
process-tree sampler (`sampler.py`), the recommendation rule (`recommend.py`) and the HTML
chart (`chart.py`).
"""

"""The local target: services as supervised process trees on this machine (no Docker).

`target.py` holds `LocalTarget` (registered as the `local` entry point), `supervisor.py` the
long-lived process behind each service, `status.py` the status file they share.
"""

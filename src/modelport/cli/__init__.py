"""The `modelport` command line: thin click commands over the SDK."""

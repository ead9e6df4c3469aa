"""Developer commands (``python -m labkit.dev.<name>``); never imported by a notebook."""

"""Modules used by a single lesson; each docstring names its notebook."""

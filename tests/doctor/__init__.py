"""Tests of labkit.doctor (a package: test_report.py here and in tests/ must not clash)."""

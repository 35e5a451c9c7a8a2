"""Sections of tests/bench/RESULTS.md, written by tests/bench/report.py."""

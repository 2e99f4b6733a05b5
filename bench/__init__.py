"""The mock's benchmark: wrk against `python -m mockserver serve`, optionally next to Prism and Schemathesis.

Run it from the repository root with `python -m bench` (or `python bench/run.py`); `--help` lists the
options. Not part of the installed packages: it drives them from outside, as a CI job or a developer would.
"""

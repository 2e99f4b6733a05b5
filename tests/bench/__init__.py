"""Tests of the benchmark harness (no timing: argument parsing, Lua generation, parsing)."""

"""Fuzzing of the mock's request pipeline and of the contract tests' reading of answers (docs/fuzzing.md)."""

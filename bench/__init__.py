"""Benchmarks of the training job; `proxy` is shared with the tests."""

"""Benchmarks: the full fulfillment path, the engine alone and the bare library floor."""

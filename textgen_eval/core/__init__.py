"""Foundations shared by every layer: errors, registries, signatures, hashing, files, cache.

Nothing here imports numpy, torch or any other heavy library.
"""

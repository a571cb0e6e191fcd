"""Evaluators: the problem contract, the sandbox and the Ray evaluation pool.

Knows nothing of LLMs or of the program database.
"""

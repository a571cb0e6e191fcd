"""The program database: every attempt with its lineage, and the MAP-Elites islands.

Knows nothing of LLMs or sandboxes.
"""

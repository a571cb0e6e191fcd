"""evolve: LLM-driven evolutionary discovery of systems algorithms."""

__version__ = "0.1.0"

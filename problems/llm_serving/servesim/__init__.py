"""Discrete-event simulator of an LLM serving cluster (the llm_serving problem's model)."""

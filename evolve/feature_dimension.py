"""A feature dimension as a problem (problem.yaml ``features:``) or a run configuration
(``archive.features``) declares it: apart from both the problem loader and the archive's
settings, so that each checks a declaration without importing the other.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FeatureDimension(BaseModel):
    """One axis of the MAP-Elites grid.

    ``name`` is either a metric the evaluator returns or a built-in code feature:
    ``length`` (characters), ``complexity`` (AST nodes) or ``edit_distance`` (from the
    seed). With ``range`` the axis is cut into ``bins`` equal bins (values outside are
    clamped); without it the bins adapt to the values seen so far (min..max).
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    bins: int = Field(10, ge=1, le=1000)
    range: tuple[float, float] | None = None

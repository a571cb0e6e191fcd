"""Settings of the program archive: islands, MAP-Elites grid and parent selection."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evolve.feature_dimension import FeatureDimension

__all__ = ["ArchiveSettings", "FeatureDimension"]


class ArchiveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_islands: int = Field(4, ge=1)
    migration_interval: int = Field(10, ge=1, description="generations between ring migrations")
    migration_rate: float = Field(0.1, ge=0.0, le=1.0, description="fraction of an island's elites sent")
    exploit_ratio: float = Field(0.7, ge=0.0, le=1.0)
    explore_ratio: float = Field(0.2, ge=0.0, le=1.0)
    pareto_share: float = Field(
        0.0, ge=0.0, le=1.0,
        description="share of parents drawn from the programs best on some instance (needs per-instance scores)",
    )
    num_inspirations: int = Field(3, ge=0)
    num_top_programs: int = Field(2, ge=0, description="of the inspirations, how many are the island's best")
    novelty_threshold: float | None = Field(
        None, gt=0, le=1,
        description="similarity to a program of its island at which a candidate is not evaluated (too_similar); "
                    "None: off",
    )
    novelty_judge_band: float = Field(
        0.0, ge=0, le=1, description="below the threshold, the band in which the chat model judges the pair",
    )
    features: list[FeatureDimension] = Field(
        default_factory=lambda: [FeatureDimension(name="complexity"), FeatureDimension(name="edit_distance")]
    )

    @model_validator(mode="after")
    def _ratios(self) -> "ArchiveSettings":
        if self.exploit_ratio + self.explore_ratio > 1.0 + 1e-9:
            raise ValueError("exploit_ratio + explore_ratio must be at most 1 (the rest is random)")
        return self

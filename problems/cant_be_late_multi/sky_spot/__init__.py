"""The multi-region strategy interface of the Can't Be Late simulator, under its published
import paths (`sky_spot.strategies.multi_strategy.MultiRegionStrategy`,
`sky_spot.utils.ClusterType`), so published policies run here unchanged.
"""

"""The strategy interface of the Can't Be Late simulator, under its published import paths.

Published policies import `sky_spot.strategies.strategy.Strategy` and
`sky_spot.utils.ClusterType`; keeping those paths lets them run here unchanged.
"""

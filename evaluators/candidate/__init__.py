"""Code that runs inside the candidate's own process, apart from the scorer.

This package is the only framework code a candidate's sandbox can see, so it imports
nothing but the standard library (and numpy where the problem allows it). The scorer side
of the channel is evaluators.channel; both speak evaluators.candidate.wire.
"""

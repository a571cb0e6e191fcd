"""The scheduler's side of a decision: views rebuilt from plain data, the Scheduler called.

The simulator sends each decision as plain numbers. Here they become the immutable
RequestView, InstanceView and ClusterView snapshots of the published interface and the
Scheduler answers: in the candidate's process on the scoring channel (the program's
class, constructed with no arguments), or in the simulator's own process for a scheduler
object handed to `Simulator.run()`. Nothing here is trusted: the simulator checks every
answer, and a program that rewrites this module only changes what it answers.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from .views import ClusterView, InstanceView, RequestView

PROGRAM_MODULE = "candidate"  # the name the candidate's host gives the loaded program
SHOWN_CHARS = 80


def _plain(value: object) -> object:
    """An answer the simulator will reject as it stands, in a form the channel can carry."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)[:SHOWN_CHARS]


def _number(value: object) -> object:
    """A priority: numbers of any numeric type as float, anything else for the simulator to reject."""
    if not isinstance(value, bool | int | float | str) and hasattr(value, "__float__"):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    return _plain(value)


class HostedScheduler:
    """One scenario's Scheduler and the decisions the simulator asks of it."""

    def __init__(self, scheduler: object | None = None) -> None:
        if scheduler is None:
            scheduler = sys.modules[PROGRAM_MODULE].Scheduler()
        for method in ("route", "priority"):
            if not callable(getattr(scheduler, method, None)):
                raise TypeError(f"Scheduler must define {method}()")
        self.scheduler = scheduler

    def arrive(self, request: Sequence, now: float, num_tenants: int, instances: np.ndarray,
               tenant_tokens: np.ndarray) -> list:
        """route() a new request, then priority() at the instance it chose: [instance, priority]."""
        tokens = tuple(tenant_tokens.tolist())
        views = tuple(InstanceView(*row, tokens) for row in instances.tolist())
        view = RequestView(*request)
        choice = self.scheduler.route(view, ClusterView(now, views, num_tenants))
        if isinstance(choice, bool) or not hasattr(choice, "__index__") or not 0 <= int(choice) < len(views):
            return [_plain(choice), None]
        there = views[int(choice)]
        value = self.scheduler.priority(view._replace(cached_prefix_tokens=there.cached_prefix_tokens),
                                        there._replace(cached_prefix_tokens=0), now)
        return [int(choice), _number(value)]

    def priorities(self, requests: Sequence[Sequence], instance: Sequence, tenant_tokens: Sequence[float],
                   now: float) -> list:
        """priority() of each request waiting at one instance."""
        view = InstanceView(*instance, tuple(tenant_tokens))
        priority = self.scheduler.priority
        return [_number(priority(RequestView(*row), view, now)) for row in requests]

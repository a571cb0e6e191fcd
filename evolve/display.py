"""The live view of a run: a rich panel on a terminal, plain progress lines in a pipe."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from evolve.engine import Progress


def format_score(score: float | None) -> str:
    return "-" if score is None else f"{score:.6g}"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def improvement(progress: Progress) -> str:
    if progress.best_score is None or progress.seed_score is None:
        return "-"
    delta = progress.best_score - progress.seed_score
    if progress.seed_score != 0:
        return f"{delta:+.6g} ({100 * delta / abs(progress.seed_score):+.1f} %)"
    return f"{delta:+.6g}"


class LiveDisplay:
    """Shows candidates done / failed / in flight, rate, best score, dollars and ETA."""

    PLAIN_INTERVAL_S = 5.0

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self._live: Live | None = None
        self._last_plain = 0.0

    def __enter__(self) -> "LiveDisplay":
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)

    def update(self, progress: Progress) -> None:
        if self._live is not None:
            self._live.update(self._table(progress))
            return
        now = time.monotonic()
        if now - self._last_plain >= self.PLAIN_INTERVAL_S or progress.stop_reason or progress.done >= progress.target:
            self._last_plain = now
            self.console.print(self._line(progress), highlight=False)

    def _table(self, p: Progress) -> Table:
        table = Table(title=self.title, show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        table.add_row("candidates", f"{p.done}/{p.target} done, {p.failed} failed, {p.in_flight} in flight")
        table.add_row("rate", f"{p.rate:.2f} evaluations/s")
        table.add_row("best train score", f"{format_score(p.best_score)}  (seed {format_score(p.seed_score)})")
        table.add_row("improvement", improvement(p))
        table.add_row("spent", f"${p.spent_usd:.4f}")
        table.add_row("ETA", format_duration(p.eta_s))
        if p.stop_reason:
            table.add_row("stopping", p.stop_reason)
        return table

    def _line(self, p: Progress) -> str:
        return (
            f"[{p.done}/{p.target}] failed {p.failed}, in flight {p.in_flight}, {p.rate:.2f}/s, "
            f"best {format_score(p.best_score)} (seed {format_score(p.seed_score)}, {improvement(p)}), "
            f"${p.spent_usd:.4f}, ETA {format_duration(p.eta_s)}"
        )

"""Near-copies of a program already on the island, caught before they cost an evaluation.

Exact duplicates are refused by the archive's hashes; a candidate that changes one
token of a program the island already holds is not, yet it rarely tells the search
anything new. Each island keeps a sketch of its evaluated programs: by default a MinHash
signature of the token 5-grams of the EVOLVE-BLOCK regions (the frozen frame is the same
in every program and would make them all look alike), which needs no model and no
download; with ``llm.embedding_model`` configured, an embedding of the same text instead
(cosine similarity). Sketches are added as programs are recorded, so a candidate is
compared with n programs in one vectorised pass, never n^2.

A candidate whose nearest program is at or above ``archive.novelty_threshold`` is
recorded as ``too_similar`` and not evaluated. With ``archive.novelty_judge_band`` above
0, a candidate within that band below the threshold is shown with its nearest program to
the chat model, which decides whether it is meaningfully different (ShinkaEvolve's rule).
Embedding and judge calls go through the call journal like every other paid call.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from evolve.database.models import Program
from evolve.database.records import LLMCallRecord, ProgramView
from evolve.regions import RegionError, split_regions
from evolve.statuses import Origin, Status

SHINGLE_TOKENS = 5
PERMUTATIONS = 128
_PRIME = 4294967291  # the largest prime below 2**32: a*x + b stays inside 64 bits
_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+|\S")
_COMMENT = re.compile(r"(#|//).*$", re.MULTILINE)
PROGRAMS = Program.__table__


def evolvable_text(code: str) -> str:
    """The regions' bodies (comments dropped): what the search actually changes."""
    try:
        program = split_regions(code)
        text = "\n".join(region.body for region in program.regions)
    except RegionError:
        text = code
    return _COMMENT.sub("", text)


def shingles(text: str, size: int = SHINGLE_TOKENS) -> np.ndarray:
    """32-bit hashes of the token ``size``-grams; a text shorter than that is one shingle."""
    tokens = _TOKEN.findall(text)
    grams = [tokens[i:i + size] for i in range(max(1, len(tokens) - size + 1))]
    hashes = {int.from_bytes(hashlib.blake2b("\x1f".join(g).encode(), digest_size=4).digest(), "little")
              for g in grams}
    return np.fromiter(hashes, dtype=np.uint64, count=len(hashes))


class MinHasher:
    """Signatures whose agreement rate estimates the Jaccard similarity of shingle sets."""

    def __init__(self, permutations: int = PERMUTATIONS, seed: int = 0) -> None:
        rng = random.Random(f"minhash:{seed}")
        self.a = np.array([rng.randrange(1, _PRIME) for _ in range(permutations)], dtype=np.uint64)
        self.b = np.array([rng.randrange(0, _PRIME) for _ in range(permutations)], dtype=np.uint64)

    def signature(self, code: str) -> np.ndarray:
        x = shingles(evolvable_text(code)) % np.uint64(_PRIME)
        return ((self.a[:, None] * x[None, :] + self.b[:, None]) % np.uint64(_PRIME)).min(axis=1)


class SketchRows:
    """One island's sketches: a matrix that doubles as it fills, one row per program."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self._known: set[int] = set()
        self._rows: np.ndarray | None = None

    def add(self, program_id: int, sketch: np.ndarray) -> None:
        if program_id in self._known:
            return
        if self._rows is None:
            self._rows = np.zeros((16, len(sketch)), dtype=sketch.dtype)
        elif len(self.ids) == len(self._rows):
            self._rows = np.concatenate([self._rows, np.zeros_like(self._rows)])
        self._rows[len(self.ids)] = sketch
        self.ids.append(program_id)
        self._known.add(program_id)

    def __contains__(self, program_id: int) -> bool:
        return program_id in self._known

    def rows_like(self, sketch: np.ndarray) -> np.ndarray | None:
        """The sketches, when there are any of the same width as ``sketch``."""
        if self._rows is None or not self.ids or self._rows.shape[1] != len(sketch):
            return None
        return self._rows[: len(self.ids)]


@dataclass
class Nearest:
    program_id: int
    similarity: float


def nearest_by_minhash(rows: SketchRows, signature: np.ndarray) -> Nearest | None:
    matrix = rows.rows_like(signature)
    if matrix is None:
        return None
    agreement = (matrix == signature).mean(axis=1)
    best = int(agreement.argmax())
    return Nearest(rows.ids[best], float(agreement[best]))


def nearest_by_cosine(rows: SketchRows, vector: np.ndarray) -> Nearest | None:
    matrix = rows.rows_like(vector)
    if matrix is None:
        return None
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(vector) or 1.0)
    cosine = matrix @ vector / np.where(norms == 0, 1.0, norms)
    best = int(cosine.argmax())
    return Nearest(rows.ids[best], float(cosine[best]))


@dataclass
class Verdict:
    """Why a candidate is not evaluated: the program it resembles, and how much."""

    similar_to: int
    similarity: float
    measure: str  # minhash | embedding
    threshold: float
    judged: str | None = None  # the judge's reply, when it decided

    @property
    def error(self) -> str:
        if self.judged is not None:
            return (f"judged not meaningfully different from program {self.similar_to} ({self.measure} similarity "
                    f"{self.similarity:.3f}); not evaluated")
        return (f"{self.measure} similarity {self.similarity:.3f} to program {self.similar_to} (threshold "
                f"{self.threshold:g}); not evaluated")

    def artifacts(self) -> dict[str, str]:
        out = {"similar_to": str(self.similar_to), "similarity": f"{self.similarity:.4f}",
               "similarity_measure": self.measure}
        if self.judged is not None:
            out["novelty_judge"] = self.judged[:500]
        return out


# Embeds texts (one paid call for all of them) and returns one vector each, appending its call.
Embed = Callable[[list[str], list[LLMCallRecord]], Awaitable[list[np.ndarray]]]
# Asks whether the candidate is meaningfully different: (different?, reply), appending its call.
Judge = Callable[[str, str, list[LLMCallRecord]], Awaitable[tuple[bool, str]]]


class NoveltyFilter:
    """One run's island sketches and the rule that turns the nearest program into a verdict.

    ``code_of`` reads a program's code back for the judge. The local measure keeps only
    signatures in memory; the embedder keeps a member's evolvable text only until its
    vector is fetched, with the next candidate for its island."""

    def __init__(self, threshold: float, num_islands: int, *, judge_band: float = 0.0, embed: Embed | None = None,
                 judge: Judge | None = None, code_of: Callable[[int], str] | None = None, seed: int = 0) -> None:
        self.threshold, self.judge_band = threshold, judge_band
        self.embed, self.judge, self.code_of = embed, judge, code_of
        self.measure = "embedding" if embed is not None else "minhash"
        self._hasher = MinHasher(seed=seed)
        self._islands = [SketchRows() for _ in range(num_islands)]
        self._pending: list[dict[int, str]] = [{} for _ in range(num_islands)]  # members awaiting an embedding

    def add(self, island: int, program_id: int, code: str) -> None:
        """A program that joined the island (an ok row); the seed joins every island."""
        if program_id in self._islands[island]:
            return
        if self.embed is not None:
            self._pending[island][program_id] = evolvable_text(code)
        else:
            self._islands[island].add(program_id, self._hasher.signature(code))

    def _join(self, program_id: int, island: int, origin: str, code: str) -> None:
        for each in range(len(self._islands)) if origin == Origin.SEED else [island]:
            self.add(each, program_id, code)

    def admit(self, view: ProgramView) -> None:
        if view.status == Status.OK and view.score is not None:
            self._join(view.id, view.island, view.origin, view.code)

    def load(self, programs: Iterable[tuple[int, int, str, str]]) -> None:
        """The island members of a resumed run: (id, island, origin, code) of its ok rows."""
        for program in programs:
            self._join(*program)

    async def check(self, island: int, code: str, calls: list[LLMCallRecord]) -> Verdict | None:
        """The verdict on a candidate for ``island``, or None when it may be evaluated."""
        nearest = await self._nearest(island, code, calls)
        if nearest is None:
            return None
        verdict = Verdict(nearest.program_id, nearest.similarity, self.measure, self.threshold)
        if nearest.similarity >= self.threshold:
            return verdict
        if self.judge is None or self.code_of is None or nearest.similarity < self.threshold - self.judge_band:
            return None
        different, reply = await self.judge(self.code_of(nearest.program_id), code, calls)
        if different:
            return None
        verdict.judged = reply
        return verdict

    async def _nearest(self, island: int, code: str, calls: list[LLMCallRecord]) -> Nearest | None:
        if self.embed is None:
            return nearest_by_minhash(self._islands[island], self._hasher.signature(code))
        pending = self._pending[island]
        members = list(pending)  # other candidates may add members while this call is out
        vectors = await self.embed([evolvable_text(code), *(pending[pid] for pid in members)], calls)
        if len(vectors) != len(members) + 1:  # the call failed: nothing to compare with, so evaluate
            return None
        rows = self._islands[island]
        for pid, vector in zip(members, vectors[1:]):
            rows.add(pid, vector)
            pending.pop(pid, None)
        return nearest_by_cosine(rows, vectors[0])


def island_members(engine: Engine, run_id: int) -> list[tuple[int, int, str, str]]:
    """(id, island, origin, code) of the run's evaluated programs, migrants left out: a
    migrant copies a program already sketched on its home island, and live recording
    never sees migrants either, so a resumed run compares with exactly what it did."""
    query = (
        select(PROGRAMS.c.id, PROGRAMS.c.island, PROGRAMS.c.origin, PROGRAMS.c.code)
        .where(PROGRAMS.c.run_id == run_id, PROGRAMS.c.status == Status.OK, PROGRAMS.c.score.is_not(None),
               PROGRAMS.c.origin != Origin.MIGRANT)
        .order_by(PROGRAMS.c.id)
    )
    with engine.connect() as conn:
        return [(row.id, row.island, row.origin, row.code) for row in conn.execute(query)]


def build_filter(config: Any, journal: Any) -> NoveltyFilter | None:
    """The run's filter from its settings, with the island members it already has; None when
    ``archive.novelty_threshold`` is not set."""
    settings = config.archive
    if settings.novelty_threshold is None:
        return None
    embeds = config.llm.embedding_model is not None
    judges = settings.novelty_judge_band > 0 and bool(config.llm.models)
    embed = judge = None
    if embeds or judges:  # the calls' module imports the model client, which only these need
        from evolve.novelty_calls import Embedder, NoveltyJudge

        embed = Embedder(config.llm.embedding_model, config.llm, journal) if embeds else None
        judge = NoveltyJudge(config.llm, journal, config.seed) if judges else None
    engine = journal.engine

    def code_of(program_id: int) -> str:
        with engine.connect() as conn:
            return str(conn.execute(select(PROGRAMS.c.code).where(PROGRAMS.c.id == program_id)).scalar_one())

    novelty = NoveltyFilter(settings.novelty_threshold, settings.num_islands, judge_band=settings.novelty_judge_band,
                            embed=embed, judge=judge, code_of=code_of, seed=config.seed)
    novelty.load(island_members(engine, journal.run_id))
    return novelty

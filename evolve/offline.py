"""The offline mutator: evolution without a language model.

A baseline, not an LLM: it perturbs constants, swaps operators, grows and recombines
expressions and moves statements between programs, all inside the EVOLVE-BLOCK regions.
It lets a user run the whole pipeline with no API key, and gives every problem a floor
that an LLM-driven run has to beat. A program in another language (its markers in ``//``
or ``--`` comments) has its constants and operators mutated as text (evolve.text_operators).
"""

from __future__ import annotations

import ast
import difflib
import random
import textwrap

from evolve.ast_operators import OPERATORS
from evolve.evaluators.markers import guess_language
from evolve.mutation import MutationRequest, Mutator, Proposal
from evolve.regions import RegionedProgram, RegionError, frozen_text, split_regions
from evolve.statuses import Origin
from evolve.text_operators import mutate_text

MAX_TRIES = 12
OPS_PER_CHILD = (1, 1, 2, 3)  # several operators per child let a search cross neutral plateaus


def unified_diff(parent: str, child: str) -> str:
    return "".join(
        difflib.unified_diff(parent.splitlines(True), child.splitlines(True), "parent", "child", n=2)
    )


def _parse_region(body: str) -> tuple[ast.Module, str] | None:
    """Parse a region body, remembering the indentation it lives at."""
    dedented = textwrap.dedent(body)
    indent = ""
    for line in body.splitlines():
        if line.strip():
            indent = line[: len(line) - len(line.lstrip())]
            break
    try:
        return ast.parse(dedented), indent
    except SyntaxError:
        return None


class OfflineMutator(Mutator):
    """Mutates the parent's regions with syntax-tree operators; needs no model."""

    name = "offline"
    default_origin = Origin.OFFLINE

    def max_call_cost_usd(self, request: MutationRequest | None = None) -> float:
        """Nothing is paid for, so a run's budget never stops an offline run."""
        return 0.0

    async def propose(self, request: MutationRequest) -> Proposal:
        codes = [p.code for p in request.inspirations]
        return self.mutate(request.parent.code, codes, request.seed, request.language)

    def mutate(self, parent_code: str, inspiration_codes: list[str], seed: int,
               language: str | None = None) -> Proposal:
        """``language`` is the problem's; without it the parent's markers are the guide (an
        R program's ``#`` markers read as Python, so a caller that knows must say)."""
        rng = random.Random(seed)
        try:
            program = split_regions(parent_code)
        except RegionError as exc:
            return Proposal(code=None, origin=Origin.OFFLINE, error=f"parent has broken regions: {exc}")
        python = (language or guess_language(parent_code)) == "python"
        donors = self._donor_trees(inspiration_codes) if python else []
        for _ in range(MAX_TRIES):
            tried = self._try_once(program, donors, rng) if python else self._try_text(program, rng)
            if tried is not None and tried[0] != parent_code:
                child, changes = tried
                return Proposal(code=child, origin=Origin.OFFLINE, diff=unified_diff(parent_code, child), changes=changes)
        return Proposal(code=None, origin=Origin.OFFLINE, error=f"no valid mutation found in {MAX_TRIES} tries")

    @staticmethod
    def _donor_trees(codes: list[str]) -> list[ast.Module]:
        trees = []
        for code in codes:
            try:
                for region in split_regions(code).regions:
                    parsed = _parse_region(region.body)
                    if parsed:
                        trees.append(parsed[0])
            except RegionError:
                continue
        return trees

    @staticmethod
    def _try_text(program: RegionedProgram, rng: random.Random) -> tuple[str, list[str]] | None:
        index = rng.randrange(len(program.regions))
        bodies = [r.body for r in program.regions]
        body = mutate_text(bodies[index], rng, rng.choice(OPS_PER_CHILD))
        if body is None:
            return None
        bodies[index] = body
        return program.with_bodies(bodies), []

    def _try_once(self, program: RegionedProgram, donors: list[ast.Module],
                  rng: random.Random) -> tuple[str, list[str]] | None:
        """A child and what its operators changed, or None when this try found nothing valid."""
        parsed = [_parse_region(r.body) for r in program.regions]
        editable = [i for i, p in enumerate(parsed) if p is not None]
        if not editable:
            return None
        index = rng.choice(editable)
        tree, indent = parsed[index]  # type: ignore[misc]
        operators, weights = zip(*OPERATORS)
        changes = []
        for _ in range(rng.choice(OPS_PER_CHILD)):
            operator = rng.choices(operators, weights)[0]
            change = operator(tree, donors, rng)
            if change is not None:
                changes.append(change)
        if not changes:
            return None
        body = textwrap.indent(ast.unparse(ast.fix_missing_locations(tree)), indent) + "\n"
        bodies = [r.body for r in program.regions]
        bodies[index] = body
        child = program.with_bodies(bodies)
        try:
            ast.parse(child)
        except SyntaxError:
            return None
        if frozen_text(child) != frozen_text(program.code):
            return None
        return child, changes

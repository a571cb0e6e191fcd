"""Problems whose candidates are compiled (Rust, C++), written by the tests and the build-cache
benchmark: one problem.yaml builder and the line server that answers the sum of two integers,
so that each tool chain's build settings and frame live in one place."""

from __future__ import annotations

import textwrap

# Per language: program, build source, build command, tool chain, build timeout, build memory.
BUILDS = {
    "rust": ("seed.rs", "candidate.rs", '[rustc, -O, -o, "{binary}", "{source}"]', "{rustc: rustc}", 120, 4096),
    "cpp": ("seed.cpp", "candidate.cpp", '[g++, -O1, -o, "{binary}", "{source}"]', "{g++: g++}", 60, None),
}

SUM_EVALUATOR = '''
from evolve.evaluators.contract import InvalidProgram


def evaluate(candidate, split="train"):
    questions = [(a, 3 * a + 1) for a in range(50)]
    reply = candidate.call("stdio", "".join(f"{a} {b}\\n" for a, b in questions))
    answers = reply.split()
    if len(answers) != len(questions):
        raise InvalidProgram(f"{len(answers)} answers to {len(questions)} questions")
    right = sum(int(x) == a + b for x, (a, b) in zip(answers, questions))
    return {"score": right / len(questions)}
'''

SUM_FRAMES = {
    "rust": """use std::io::{self, BufRead, Write};

// EVOLVE-BLOCK-START
#[allow(unused)]
fn answer(a: i64, b: i64) -> i64 {
BODY
}
// EVOLVE-BLOCK-END

fn main() {
    let stdin = io::stdin();
    let mut out = io::stdout();
    for line in stdin.lock().lines() {
        let numbers: Vec<i64> = line.unwrap().split_whitespace().map(|x| x.parse().unwrap()).collect();
        writeln!(out, "{}", answer(numbers[0], numbers[1])).unwrap();
        out.flush().unwrap();
    }
}
""",
    "cpp": """#include <cstdio>
#include <cstdlib>
#include <unistd.h>

// EVOLVE-BLOCK-START
long answer(long a, long b) {
BODY
}
// EVOLVE-BLOCK-END

int main() {
    long a, b;
    while (std::scanf("%ld %ld", &a, &b) == 2) {
        std::printf("%ld\\n", answer(a, b));
        std::fflush(stdout);
    }
    return 0;
}
""",
}


def compiled_problem_yaml(name: str, description: str, language: str, limits: dict[str, int],
                          toolchain: str | None = None) -> str:
    """The problem.yaml of a ``language`` line server scored over its channel; ``toolchain``
    (a YAML mapping) replaces the language's own compiler entry."""
    program, source, command, own_toolchain, build_timeout_s, build_memory_mb = BUILDS[language]
    build_memory = f"    memory_mb: {build_memory_mb}\n" if build_memory_mb else ""
    return (f"name: {name}\ndescription: {description}\nprogram: {program}\nevaluator: evaluate.py\n"
            f"scoring: channel\ncandidate:\n  language: {language}\n  packages: []\n  build:\n"
            f"    source: {source}\n    command: {command}\n    toolchain: {toolchain or own_toolchain}\n"
            f"    timeout_s: {build_timeout_s}\n{build_memory}"
            f"limits: {{{', '.join(f'{key}: {value}' for key, value in limits.items())}}}\n")


def sum_program(language: str, body: str) -> str:
    """The sum line server in ``language`` whose ``answer`` function has this body."""
    return SUM_FRAMES[language].replace("BODY", textwrap.indent(textwrap.dedent(body).strip(), "    "))

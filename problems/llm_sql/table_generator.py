"""The training tables: generated in the shapes of the leaderboard's datasets, never their rows.

Evolution never sees beer.csv (the held-out test split). The three tables here repeat the
structure that makes column order matter in the leaderboard's other datasets, which are not
available here: a few entity columns that repeat over many rows and determine each other
(a movie's title, synopsis and link; a product's title and ASIN; a score file's path and
metadata), low-cardinality ratings and flags, and free text unique to each row. Words are
drawn from a fixed syllable alphabet with Zipf-like frequencies; every table is a function
of its seed alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import numpy as np

SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ba", "de", "fi", "go", "hu", "je", "pa", "zu")


def _words(rng: np.random.Generator, count: int, vocabulary: int = 400) -> str:
    ranks = np.minimum(rng.zipf(1.3, size=count), vocabulary) - 1
    return " ".join(_word(int(r)) for r in ranks)


def _word(rank: int) -> str:
    letters = []
    rank += 1
    while rank:
        rank, digit = divmod(rank, len(SYLLABLES))
        letters.append(SYLLABLES[digit])
    return "".join(letters)


def _pick(rng: np.random.Generator, pool: list, count: int, skew: float = 1.2) -> list:
    weights = 1.0 / np.arange(1, len(pool) + 1) ** skew
    return [pool[i] for i in rng.choice(len(pool), size=count, p=weights / weights.sum())]


def _csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def movie_reviews(seed: int, count: int = 1500) -> str:
    """Critics' reviews of 80 films: the film's synopsis, title and link repeat per review."""
    rng = np.random.default_rng(seed)
    films = [(_words(rng, int(rng.integers(18, 40))), f"{_word(500 + i)} {_words(rng, int(rng.integers(0, 3)))}".strip().title(),
              f"m/{_word(i)}_{int(rng.integers(1950, 2024))}",
              _pick(rng, ["Drama", "Comedy", "Horror", "Action & Adventure"], 1)[0])
             for i in range(80)]
    critics = [f"{_word(int(a)).title()} {_word(int(b)).title()}" for a, b in rng.integers(0, 300, size=(250, 2))]
    rows = []
    for film, critic in zip(_pick(rng, films, count, 0.8), _pick(rng, critics, count)):
        info, title, link, genre = film
        score = "" if rng.random() < 0.3 else f"{int(rng.integers(1, 6))}/5"
        rows.append([_words(rng, int(rng.integers(8, 24))), critic, str(rng.random() < 0.3),
                     f"20{int(rng.integers(10, 20))}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}",
                     score, genre, info, title, link])
    header = ["reviewcontent", "criticname", "topcritic", "reviewdate", "reviewscore", "genre",
              "movieinfo", "movietitle", "rottentomatoeslink"]
    return _csv(header, rows)


def product_reviews(seed: int, count: int = 1200) -> str:
    """Shoppers' reviews of 150 products: title and ASIN repeat with the product's brand and price."""
    rng = np.random.default_rng(seed)
    brands = [_word(int(i)).title() for i in rng.integers(20, 400, size=40)]
    categories = [_words(rng, 2).title() for _ in range(15)]
    alphabet = list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
    products = [(_words(rng, int(rng.integers(4, 14))).title(), "B0" + "".join(rng.choice(alphabet, size=8)),
                 _pick(rng, brands, 1)[0], _pick(rng, categories, 1)[0], round(float(rng.uniform(3, 200)), 2))
                for _ in range(150)]
    rows = []
    for title, asin, brand, category, price in _pick(rng, products, count, 1.0):
        rows.append([int(rng.integers(1, 6)), _words(rng, int(rng.integers(1, 6))).capitalize(),
                     _words(rng, int(rng.integers(6, 30))), str(rng.random() < 0.8), int(rng.poisson(1.5)),
                     category, brand, price, title, asin])
    header = ["rating", "review_title", "text", "verified_purchase", "helpful_vote",
              "main_category", "store", "price", "product_title", "parent_asin"]
    return _csv(header, rows)


def score_files(seed: int, count: int = 1200) -> str:
    """A corpus of sheet-music files: path and metadata path per file, six flags, composers."""
    rng = np.random.default_rng(seed)
    composers = [_words(rng, 2).title() for _ in range(120)]
    rows = []
    for index in range(count):
        stem = f"{_word(int(rng.integers(0, 60)))}/{_word(int(rng.integers(0, 900)))}{index}"
        flags = [bool(rng.random() < p) for p in (0.9, 0.1, 0.95, 0.02, 0.3, 0.6)]
        rating = round(float(rng.uniform(3, 5)), 1)
        rows.append([_words(rng, int(rng.integers(1, 6))).title(), _pick(rng, composers, 1)[0],
                     _pick(rng, ["classical", "pop", "folk", "jazz", "rock"], 1)[0], int(rng.integers(1, 9)),
                     rating, f"./data/{stem}.mxl", f"./metadata/{stem}.json", *flags])
    header = ["title", "composer", "genre", "n_tracks", "rating", "path", "metadata", "hasmetadata",
              "isofficial", "isuserpublisher", "isdraft", "hasannotations", "subsetall"]
    return _csv(header, rows)


TRAIN_TABLES: list[tuple[str, Callable[[int], str], int, list[list[str]]]] = [
    ("movie_reviews", movie_reviews, 301, [["movieinfo", "movietitle", "rottentomatoeslink"]]),
    ("product_reviews", product_reviews, 302, [["product_title", "parent_asin"]]),
    ("score_files", score_files, 303, [["path", "metadata"], ["hasmetadata", "isofficial", "isuserpublisher",
                                                              "isdraft", "hasannotations", "subsetall"]]),
]

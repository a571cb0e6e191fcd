from __future__ import annotations

from evaluators.bundle import pack_problem, unpack_problem


def test_bundle_hash_follows_content_and_skips_caches(tmp_path):
    root = tmp_path / "problem"
    (root / "data").mkdir(parents=True)
    (root / "evaluate.py").write_text("x = 1\n")
    (root / "data" / "trace.csv").write_text("a,b\n1,2\n")
    digest, data = pack_problem(root)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "evaluate.cpython-311.pyc").write_bytes(b"\0" * 10)
    assert pack_problem(root)[0] == digest
    (root / "data" / "trace.csv").write_text("a,b\n1,3\n")
    assert pack_problem(root)[0] != digest

    unpacked = unpack_problem(digest, data, cache_dir=tmp_path / "cache")
    assert unpacked.name == digest
    assert (unpacked / "data" / "trace.csv").read_text() == "a,b\n1,2\n"
    assert not (unpacked / "__pycache__").exists()
    assert unpack_problem(digest, data, cache_dir=tmp_path / "cache") == unpacked
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [digest]

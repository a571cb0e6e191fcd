from collections import Counter

from evolve.database.queries import export_programs


def test_every_island_receives_and_evolves_programs(db, seeded_archive, grow_archive):
    archive = seeded_archive(db, num_islands=4, migration_interval=1000)
    grow_archive(archive, 40)
    rows = [r for r in export_programs(db, archive.run.id) if r["origin"] == "diff"]
    per_island = Counter(r["island"] for r in rows)
    assert per_island == {0: 10, 1: 10, 2: 10, 3: 10}
    by_id = {r["id"]: r for r in rows}
    for island in range(4):
        # evolved there: some child's parent is itself a child on the same island
        assert any(r["parent_id"] in by_id and by_id[r["parent_id"]]["island"] == island
                   for r in rows if r["island"] == island)
    for island in archive.state()["islands"]:
        assert len(island["cells"]) > 1
        assert island["best"]["score"] > 1.0


def test_children_join_their_parents_island(db, seeded_archive, grow_archive):
    archive = seeded_archive(db, num_islands=3, migration_interval=1000)
    grow_archive(archive, 30)
    rows = {r["id"]: r for r in export_programs(db, archive.run.id)}
    for row in rows.values():
        parent = rows.get(row["parent_id"])
        if parent is not None and parent["origin"] != "seed":
            assert row["island"] == parent["island"]


def test_ring_migration_copies_elites_to_the_next_island(db, seeded_archive, grow_archive):
    archive = seeded_archive(db, num_islands=3, migration_interval=2, migration_rate=0.5)
    grow_archive(archive, 6)  # one migration after 2 rounds of 3 islands
    assert archive.state()["migrations"] == 1
    rows = {r["id"]: r for r in export_programs(db, archive.run.id)}
    migrants = [r for r in rows.values() if r["origin"] == "migrant"]
    assert migrants
    for migrant in migrants:
        original = rows[migrant["parent_id"]]
        assert migrant["island"] == (original["island"] + 1) % 3
        assert (migrant["code"], migrant["score"], migrant["generation"]) == (
            original["code"], original["score"], original["generation"]
        )
        assert migrant["id"] > max(r["id"] for r in rows.values() if r["origin"] == "diff")
    assert archive.counts()["total"] == 6
    placed = {c["id"] for island in archive.state()["islands"] for c in island["cells"]}
    assert {m["id"] for m in migrants} <= placed


def test_zero_migration_rate_sends_nothing(db, seeded_archive, grow_archive):
    archive = seeded_archive(db, num_islands=2, migration_interval=1, migration_rate=0.0)
    grow_archive(archive, 10)
    assert not [r for r in export_programs(db, archive.run.id) if r["origin"] == "migrant"]


def test_selection_ratios_steer_parent_choice(db, seeded_archive, grow_archive):
    exploit = seeded_archive(db, seed=5, num_islands=1, exploit_ratio=1.0, explore_ratio=0.0)
    grow_archive(exploit, 30)
    best_score = exploit.state()["islands"][0]["best"]["score"]
    exploit_scores = [exploit.sample().parent.score for _ in range(60)]
    explore = seeded_archive(db, seed=5, num_islands=1, exploit_ratio=0.0, explore_ratio=1.0)
    grow_archive(explore, 30)
    explore_scores = [explore.sample().parent.score for _ in range(60)]
    assert sum(exploit_scores) / 60 > sum(explore_scores) / 60
    assert exploit_scores.count(best_score) > explore_scores.count(best_score)

"""The web UI in real headless chromium: pages load cleanly, charts draw, links lead on,
and nothing a model or a program wrote can run as script."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(url)
    return page, problems


def test_every_page_loads_without_console_errors(browser, served, artifacts_dir):
    base, ids = served
    for name, path in [("runs", "/"), ("run", f"/run/{ids['run']}"), ("program", f"/program/{ids['best']}"),
                       ("lineage", f"/program/{ids['best']}/lineage")]:
        page, problems = open_page(browser, base + path)
        page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)
        assert problems == [], f"{path}: {problems}"
        page.close()


def test_dashboard_charts_draw(browser, served):
    base, ids = served
    page, problems = open_page(browser, f"{base}/run/latest")
    page.wait_for_selector("body[data-charts-drawn=true]")
    for chart in ("chart-candidates", "chart-time"):
        assert page.locator(f"#{chart} path.best").count() == 2  # one line per island
        assert len(page.locator(f"#{chart} path.points").get_attribute("d")) > 20
    assert page.locator("#chart-failures rect.bar").count() == 1  # timeouts are the only failure
    assert page.locator("#chart-dollars rect.bar").count() == 1
    assert page.locator("#grids svg.heatmap").count() == 2
    assert page.locator("#grids rect.cell").count() >= 2
    assert problems == []


def test_navigation_from_run_to_best_program_to_its_lineage(browser, served, artifacts_dir):
    base, ids = served
    page, problems = open_page(browser, base + "/")
    page.click("#runs a >> nth=0")
    page.click("#best-program")
    assert page.url.endswith(f"/program/{ids['best']}")
    page.click("#lineage-link")
    assert page.url.endswith(f"/program/{ids['best']}/lineage")
    nodes = page.locator("#lineage-graph a.node")
    assert nodes.first.get_attribute("data-program") == str(ids["seed"])
    nodes.first.click()
    assert page.url.endswith(f"/program/{ids['seed']}/lineage")
    page.screenshot(path=str(artifacts_dir / "lineage-of-seed.png"), full_page=True)
    assert problems == []


def test_script_from_a_program_or_model_shows_as_text(browser, served, artifacts_dir):
    base, ids = served
    page, problems = open_page(browser, f"{base}/program/{ids['script']}")
    page.screenshot(path=str(artifacts_dir / "escaping.png"), full_page=True)
    assert "<script>alert(1)</script>" in page.locator("#code").inner_text()
    assert "<script>alert(1)</script>" in page.locator("details.artifact pre").inner_text()
    assert "<script>alert(1)</script>" in page.locator("pre.response").inner_text()
    assert page.locator("main script").count() == 0
    assert problems == []  # an executed alert() would have opened a dialog


def test_unknown_program_is_a_404_page(browser, served):
    base, _ = served
    page, _ = open_page(browser, f"{base}/program/999999")
    assert "no program with id 999999" in page.locator("main").inner_text()


def test_failure_bar_opens_the_failed_programs(browser, served, artifacts_dir):
    base, ids = served
    page, problems = open_page(browser, f"{base}/run/{ids['run']}")
    page.wait_for_selector("body[data-charts-drawn=true]")
    page.click("#chart-failures a.bar-link")
    page.wait_for_url("**/programs?status=timeout")
    page.screenshot(path=str(artifacts_dir / "programs-timeouts.png"), full_page=True)
    statuses = page.locator("#programs tbody td:nth-child(7)").all_inner_texts()
    assert statuses and set(statuses) == {"timeout"}
    page.click("#programs th a[data-sort=score]")
    assert "sort=score" in page.url
    assert problems == []


def test_charts_mark_the_seed_and_best_and_open_points(browser, served, artifacts_dir):
    base, ids = served
    page, problems = open_page(browser, f"{base}/run/{ids['run']}")
    page.wait_for_selector("body[data-charts-drawn=true]")
    assert page.locator("#chart-candidates line.ref.seed").count() == 1
    assert page.locator("#chart-candidates line.ref.overall").count() == 1
    ticks = page.locator("#chart-candidates text.xtick").all_text_contents()
    assert ticks and all(t.isdigit() for t in ticks)  # candidate counts are whole numbers
    page.fill("#y-min", "5")
    page.dispatch_event("#y-min", "change")
    assert "below" in page.locator("#chart-candidates text.below").text_content()
    page.screenshot(path=str(artifacts_dir / "run-y-range.png"), full_page=True)
    legend = page.locator("#grid-legend rect").count()
    assert legend > 5
    assert page.locator("#grids text.axis-name").count() >= 2
    assert problems == []


def test_tree_draws_every_program_and_a_click_opens_one(browser, served, artifacts_dir):
    base, ids = served
    page, problems = open_page(browser, f"{base}/run/{ids['run']}/tree")
    page.wait_for_selector("body[data-tree-drawn=true]")
    page.screenshot(path=str(artifacts_dir / "tree.png"), full_page=True)
    assert page.locator("#tree-info").inner_text().startswith("13 programs")
    point = page.evaluate(f"window.evolveTree.pagePoint({ids['best']})")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(f"**/program/{ids['best']}")
    assert problems == []


def test_program_page_links_diffs_and_numbered_lines(browser, served, artifacts_dir):
    base, ids = served
    page, problems = open_page(browser, f"{base}/program/{ids['best']}")
    assert page.locator("#code td.linenos a").count() == 2
    page.click("#diff-seed")
    page.wait_for_url(f"**/diff/{ids['seed']}/{ids['best']}")
    page.screenshot(path=str(artifacts_dir / "diff.png"), full_page=True)
    assert page.locator("#diff span.add").count() >= 1
    assert problems == []


def test_compare_draws_one_line_per_run(browser, served, artifacts_dir):
    base, ids = served
    page, problems = open_page(browser, f"{base}/compare?runs={ids['run']}")
    page.wait_for_selector("body[data-compare-drawn=true]")
    page.screenshot(path=str(artifacts_dir / "compare.png"), full_page=True)
    assert page.locator("#compare-candidates path.best").count() == 1
    assert page.locator("#compare-dollars path.best").count() == 1
    assert problems == []


def test_a_live_run_redraws_in_place(browser, serve, tmp_path):
    from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase

    url = f"sqlite:///{tmp_path / 'live.db'}"
    db = ProgramDatabase(url)
    run = db.create_run("live", "toy", {"iterations": 10}, seed=0)
    archive = db.archive(run.id, ArchiveSettings(num_islands=1), seed=0)
    archive.record(NewProgram(None, 0, 0, "x = 0\n", "seed", "ok", score=0.0))
    with serve(url) as base:
        page, problems = open_page(browser, f"{base}/run/{run.id}")
        page.wait_for_selector("body[data-charts-drawn=true]")
        page.evaluate("window.stillTheSamePage = true")
        assert page.locator("#done").inner_text() == "0"
        archive.record(NewProgram(1, 0, 1, "x = 1\n", "diff", "ok", score=1.0))
        page.wait_for_function("document.getElementById('done').textContent === '1'", timeout=15000)
        assert page.evaluate("window.stillTheSamePage") is True  # redrawn, not reloaded
        assert int(page.evaluate("document.body.dataset.draws")) >= 2
        assert problems == []
    archive.close()

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

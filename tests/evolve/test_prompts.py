import dataclasses

import pytest

from evolve.database.records import FAILURES_KEPT
from evolve.prompts import ARTIFACT_CHARS, PromptError, render_messages, repair_messages


def test_diff_prompt_carries_the_parent_and_its_feedback(make_request, program_code):
    request = make_request(
        metrics={"excess_pct": 3.51234567, "bins": 212, "score": -3.5},
        artifacts={"worst_cases": "instance 7: 14 bins over the bound"},
        failures=["edit not applied: block 1: the SEARCH text does not occur"],
    )
    system, user = render_messages(request, "diff")
    assert system["role"] == "system" and user["role"] == "user"
    assert "Pack items into as few bins as possible." in system["content"]
    assert f"```python\n{program_code}```" in user["content"]
    assert "score -3.5" in user["content"]
    assert "- excess_pct: 3.51235" in user["content"] and "- bins: 212" in user["content"]
    assert "- score:" not in user["content"]
    assert "instance 7: 14 bins over the bound" in user["content"]
    assert "the SEARCH text does not occur" in user["content"]
    assert "<<<<<<< SEARCH" in user["content"] and ">>>>>>> REPLACE" in user["content"]


def test_rewrite_prompt_asks_for_one_block_per_region(make_request):
    _, user = render_messages(make_request(), "rewrite")
    assert "each of the 2 EVOLVE-BLOCK regions" in user["content"]
    assert "<<<<<<< SEARCH" not in user["content"]


def test_inspirations_appear_with_their_scores(make_request):
    base = make_request()
    other = dataclasses.replace(base.parent, id=2, code="def other():\n    return 42\n", score=-1.25)
    _, user = render_messages(make_request(inspirations=[other]), "diff")
    assert "## Program 1 (score -1.25)" in user["content"]
    assert "def other():\n    return 42" in user["content"]


def test_long_stderr_keeps_its_tail_and_other_artifacts_their_head(make_request):
    stderr = "start-of-log\n" + "x" * 5000 + "\nTraceback: ZeroDivisionError at the end"
    report = "first-line-of-report\n" + "y" * 5000 + "\nlast-line-of-report"
    _, user = render_messages(make_request(artifacts={"stderr": stderr, "report": report}), "diff")
    text = user["content"]
    assert "ZeroDivisionError at the end" in text and "start-of-log" not in text
    assert "first-line-of-report" in text and "last-line-of-report" not in text
    assert len(text) < 2 * ARTIFACT_CHARS + 4000


def test_only_the_latest_failures_are_shown(make_request):
    failures = [f"failure number {i}" for i in range(12)]
    _, user = render_messages(make_request(failures=failures), "diff")
    shown = [f for f in failures if f + "\n" in user["content"]]
    assert shown == failures[-FAILURES_KEPT:]


def test_system_message_replaces_the_description(make_request):
    system, _ = render_messages(make_request(), "diff", system_message="Schedule GPU jobs.")
    assert "Schedule GPU jobs." in system["content"]
    assert "Pack items" not in system["content"]


def test_rendering_is_deterministic(make_request):
    assert render_messages(make_request(), "diff") == render_messages(make_request(), "diff")


def test_problem_folder_overrides_a_template_by_name(make_request, tmp_path):
    (tmp_path / "system.j2").write_text("Custom system for {{ problem_name }}.")
    system, user = render_messages(make_request(templates_dir=str(tmp_path)), "diff")
    assert system["content"] == "Custom system for toy.\n"
    assert "<<<<<<< SEARCH" in user["content"]  # diff.j2 still comes from prompts/


def test_problem_prompts_subfolder_overrides_and_may_reuse_the_shared_context(make_request, tmp_path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "diff.j2").write_text('{% include "_context.j2" %}\nONLY CHANGE THRESHOLD.')
    _, user = render_messages(make_request(templates_dir=str(tmp_path)), "diff")
    assert user["content"].rstrip().endswith("ONLY CHANGE THRESHOLD.")
    assert "THRESHOLD = 5" in user["content"]


def test_template_with_unknown_variable_is_an_error(make_request, tmp_path):
    (tmp_path / "system.j2").write_text("{{ no_such_variable }}")
    with pytest.raises(PromptError, match="system.j2"):
        render_messages(make_request(templates_dir=str(tmp_path)), "diff")


def test_unknown_mode_is_an_error(make_request):
    with pytest.raises(PromptError, match="unknown edit mode"):
        render_messages(make_request(), "patch")


def test_repair_turn_shows_the_reason_after_the_failed_reply(make_request):
    request = make_request()
    messages = render_messages(request, "diff")
    repaired = repair_messages(request, "diff", messages, "bad reply", "block 1: missing the '=======' line")
    assert repaired[:2] == messages
    assert repaired[2] == {"role": "assistant", "content": "bad reply"}
    assert repaired[3]["role"] == "user"
    assert "block 1: missing the '=======' line" in repaired[3]["content"]
    assert "<<<<<<< SEARCH" in repaired[3]["content"]


def test_the_system_prompt_names_the_packages_the_candidate_may_import(make_request):
    request = dataclasses.replace(make_request(), packages=["numpy", "networkx"])
    system, _ = render_messages(request, "diff")
    assert "imports only the standard library and numpy, networkx" in system["content"]
    bare, _ = render_messages(dataclasses.replace(make_request(), packages=[]), "diff")
    assert "imports only the standard library:" in bare["content"]


def test_the_repairs_the_parents_edit_needed_are_told_in_both_modes(make_request):
    from evolve.edit_repairs import REPAIRS, REPAIRS_ARTIFACT

    request = make_request(artifacts={REPAIRS_ARTIFACT: "crlf, indentation", "report": "fine"})
    for mode in ("diff", "rewrite"):
        _, user = render_messages(request, mode)
        text = user["content"]
        assert "needed repairs before it applied" in text
        assert REPAIRS["crlf"] in text and REPAIRS["indentation"] in text
        assert f"### {REPAIRS_ARTIFACT}" not in text and "### report" in text
    _, plain = render_messages(make_request(artifacts={"report": "fine"}), "diff")
    assert "needed repairs" not in plain["content"]

""".github/workflows/book.yml: what can be checked of the GitHub workflow without GitHub.

`make lint` checks it with actionlint (its syntax, expressions, and actions too old to run);
these tests check that it does what the README says a reader does.
"""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text(encoding="utf-8"))
BUILD = WORKFLOW["jobs"]["build"]["steps"]


def readme_commands() -> list[str]:
    """The commands of the README's block under '## Two commands', comments left out."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Two commands\n", 1)[1]
    block = re.match(r"\s*\n((?:    .*\n)+)", section)[1]
    return [line.split("#")[0].strip() for line in block.splitlines()]


def test_the_build_runs_the_readme_s_two_commands_as_written_in_its_order():
    assert readme_commands() == ["make test", "make book"]
    runs = [step["run"] for step in BUILD if "run" in step]
    assert [run for run in runs if run.startswith("make")] == readme_commands()


def test_it_runs_on_push_and_pull_request_on_debian():
    assert set(WORKFLOW[True]) == {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    assert WORKFLOW["jobs"]["build"]["container"] == "debian:12"


def test_the_pdf_and_the_site_the_readme_names_are_uploaded():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    uploads = {step["with"]["name"]: step["with"]["path"] for step in BUILD
               if step.get("uses", "").startswith("actions/upload-artifact@")}
    assert uploads == {"pdf": "_build/latex/micrograd-book.pdf", "site": "_build/html"}
    assert f"`{uploads['pdf']}`" in readme and f"`{uploads['site']}/index.html`" in readme


def test_only_the_default_branch_publishes_and_only_where_pages_publishes_from_actions():
    jobs = WORKFLOW["jobs"]
    pages_upload = next(s for s in BUILD if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    default_branch = "github.event_name == 'push' && github.ref_name == github.event.repository.default_branch"
    assert pages_upload["if"] == jobs["pages"]["if"] == default_branch
    assert jobs["deploy"]["needs"] == ["build", "pages"]
    assert jobs["deploy"]["if"] == "needs.pages.outputs.publish == 'true'"
    assert "::notice" in jobs["pages"]["steps"][0]["run"]  # the skipped deploy is explained
    assert "Source: GitHub Actions" in jobs["pages"]["steps"][0]["run"]


def test_every_action_is_pinned_to_a_release():
    uses = [step["uses"] for job in WORKFLOW["jobs"].values() for step in job["steps"] if "uses" in step]
    assert uses and [u for u in uses if not re.fullmatch(r"actions/[a-z-]+@v\d+\.\d+\.\d+", u)] == []


def test_pip_downloads_and_apt_archives_are_cached():
    cached = {step["with"]["path"] for step in BUILD if step.get("uses", "").startswith("actions/cache@")}
    assert cached == {WORKFLOW["jobs"]["build"]["env"]["PIP_CACHE_DIR"], "/var/cache/apt/archives/*.deb"}

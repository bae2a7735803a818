"""The main pages of the real MLflow UI, served through the rbac app, in headless Chromium.

Screenshots are kept under test-artifacts/integration/ (uploaded by CI).
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "integration"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page(stack, alice_run):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000},
                                      extra_http_headers={"Authorization": f"Bearer {alice_run['token']}"})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        yield pg
        browser.close()


def show(page, stack, fragment: str, expect: str, shot: str) -> None:
    page.goto(f"{stack['url']}/#{fragment}")
    try:
        page.get_by_text(expect, exact=False).first.wait_for()
    finally:  # also when it fails: the screenshot shows what the page showed instead
        page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)


def test_experiments_list(page, stack, alice_run):
    # MLflow 3.0's UI lists experiments on its home page and has no #/experiments route
    page.goto(f"{stack['url']}/#/experiments")
    page.get_by_text("integration").or_(page.get_by_text("Page Not Found")).first.wait_for()
    show(page, stack, "/" if page.get_by_text("Page Not Found").count() else "/experiments", "integration",
         "experiments")


def test_runs_table_shows_the_run(page, stack, alice_run):
    show(page, stack, f"/experiments/{alice_run['experiment_id']}/runs", "train", "runs-table")


def test_run_page_shows_metrics_and_params(page, stack, alice_run):
    show(page, stack, f"/experiments/{alice_run['experiment_id']}/runs/{alice_run['run_id']}", "LogisticRegression", "run")
    page.get_by_text("demographic_parity_difference", exact=False).first.wait_for()


def test_registered_model_page(page, stack, alice_run):
    show(page, stack, "/models", "integration-model", "models")

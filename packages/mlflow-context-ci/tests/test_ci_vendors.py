"""Each CI vendor, set up with exactly the variables its documentation lists, tags a real run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

VENDORS = {
    "github_actions": (
        {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/models",
         "GITHUB_RUN_ID": "9876543210", "GITHUB_RUN_NUMBER": "42", "GITHUB_RUN_ATTEMPT": "2",
         "GITHUB_REF": "refs/pull/17/merge", "GITHUB_REF_NAME": "17/merge", "GITHUB_REF_TYPE": "branch",
         "GITHUB_HEAD_REF": "feature/gpu", "GITHUB_SHA": SHA},
        {"context.ci.provider": "github_actions",
         "context.ci.pipeline_url": "https://github.com/acme/models/actions/runs/9876543210",
         "context.ci.job_url": "https://github.com/acme/models/actions/runs/9876543210/attempts/2",
         "context.ci.build_number": "42", "context.ci.pr_number": "17",
         "context.ci.commit": SHA, "context.ci.branch": "feature/gpu"},
    ),
    "gitlab_ci": (
        {"GITLAB_CI": "true", "CI_PIPELINE_URL": "https://gitlab.example.com/acme/models/-/pipelines/1001",
         "CI_JOB_URL": "https://gitlab.example.com/acme/models/-/jobs/5005", "CI_PIPELINE_IID": "77",
         "CI_PIPELINE_ID": "1001", "CI_MERGE_REQUEST_IID": "8", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "mr-branch",
         "CI_COMMIT_SHA": SHA},
        {"context.ci.provider": "gitlab_ci",
         "context.ci.pipeline_url": "https://gitlab.example.com/acme/models/-/pipelines/1001",
         "context.ci.job_url": "https://gitlab.example.com/acme/models/-/jobs/5005",
         "context.ci.build_number": "77", "context.ci.pr_number": "8",
         "context.ci.commit": SHA, "context.ci.branch": "mr-branch"},
    ),
    "jenkins": (
        {"JENKINS_URL": "https://jenkins.example.com/", "JOB_URL": "https://jenkins.example.com/job/models/",
         "BUILD_URL": "https://jenkins.example.com/job/models/31/", "BUILD_NUMBER": "31", "CHANGE_ID": "12",
         "GIT_COMMIT": SHA, "GIT_BRANCH": "origin/main"},
        {"context.ci.provider": "jenkins", "context.ci.pipeline_url": "https://jenkins.example.com/job/models/",
         "context.ci.job_url": "https://jenkins.example.com/job/models/31/", "context.ci.build_number": "31",
         "context.ci.pr_number": "12", "context.ci.commit": SHA, "context.ci.branch": "main"},
    ),
    "buildkite": (
        {"BUILDKITE": "true", "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/models/builds/55",
         "BUILDKITE_JOB_ID": "0190-abc", "BUILDKITE_BUILD_NUMBER": "55", "BUILDKITE_PULL_REQUEST": "false",
         "BUILDKITE_COMMIT": SHA, "BUILDKITE_BRANCH": "main"},
        {"context.ci.provider": "buildkite", "context.ci.pipeline_url": "https://buildkite.com/acme/models/builds/55",
         "context.ci.job_url": "https://buildkite.com/acme/models/builds/55#0190-abc",
         "context.ci.build_number": "55", "context.ci.commit": SHA, "context.ci.branch": "main"},
    ),
    "circleci": (
        {"CIRCLECI": "true", "CIRCLE_WORKFLOW_ID": "6f1c-wf", "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/models/88",
         "CIRCLE_BUILD_NUM": "88", "CIRCLE_PULL_REQUEST": "https://github.com/acme/models/pull/23",
         "CIRCLE_SHA1": SHA, "CIRCLE_BRANCH": "pull/23"},
        {"context.ci.provider": "circleci",
         "context.ci.pipeline_url": "https://app.circleci.com/pipelines/workflows/6f1c-wf",
         "context.ci.job_url": "https://circleci.com/gh/acme/models/88", "context.ci.build_number": "88",
         "context.ci.pr_number": "23", "context.ci.commit": SHA, "context.ci.branch": "pull/23"},
    ),
    "azure_pipelines": (
        {"TF_BUILD": "True", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/", "SYSTEM_TEAMPROJECT": "ML Models",
         "BUILD_BUILDID": "314", "SYSTEM_JOBID": "12f1170f-54f2-53f3-20dd-22fc7dff55f9",
         "BUILD_BUILDNUMBER": "20261122.3", "SYSTEM_PULLREQUEST_PULLREQUESTID": "1700",
         "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER": "45", "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/topic/a",
         "BUILD_SOURCEBRANCH": "refs/pull/45/merge", "BUILD_SOURCEVERSION": SHA},
        {"context.ci.provider": "azure_pipelines",
         "context.ci.pipeline_url": "https://dev.azure.com/acme/ML%20Models/_build/results?buildId=314",
         "context.ci.job_url": "https://dev.azure.com/acme/ML%20Models/_build/results?buildId=314"
                               "&view=logs&j=12f1170f-54f2-53f3-20dd-22fc7dff55f9",
         "context.ci.build_number": "20261122.3", "context.ci.pr_number": "45",
         "context.ci.commit": SHA, "context.ci.branch": "topic/a"},
    ),
    "bitbucket_pipelines": (
        {"CI": "true", "BITBUCKET_BUILD_NUMBER": "19", "BITBUCKET_COMMIT": SHA, "BITBUCKET_REPO_FULL_NAME": "acme/models",
         "BITBUCKET_STEP_UUID": "{a1b2}", "BITBUCKET_PR_ID": "6", "BITBUCKET_BRANCH": "hotfix"},
        {"context.ci.provider": "bitbucket_pipelines",
         "context.ci.pipeline_url": "https://bitbucket.org/acme/models/pipelines/results/19",
         "context.ci.job_url": "https://bitbucket.org/acme/models/pipelines/results/19/steps/%7Ba1b2%7D",
         "context.ci.build_number": "19", "context.ci.pr_number": "6", "context.ci.commit": SHA,
         "context.ci.branch": "hotfix"},
    ),
}


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_vendor_tags_on_a_real_run(
    vendor: str, monkeypatch: pytest.MonkeyPatch, outside_git, run_tags: Callable[..., dict[str, str]]
) -> None:
    env, expected = VENDORS[vendor]
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    tags = run_tags()
    assert {k: v for k, v in tags.items() if k.startswith("context.ci.")} == expected
    assert not any(k.startswith("context.git.") for k in tags)  # no repository here


def test_git_commit_and_branch_win_over_ci(
    monkeypatch: pytest.MonkeyPatch, make_repo, git_cmd, run_tags: Callable[..., dict[str, str]]
) -> None:
    repo = make_repo(branch="main")
    env, _ = VENDORS["github_actions"]
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    tags = run_tags()
    assert tags["context.ci.provider"] == "github_actions"
    assert tags["context.git.commit"] == git_cmd(repo, "rev-parse", "HEAD")
    assert tags["context.git.branch"] == "main"
    assert "context.ci.commit" not in tags and "context.ci.branch" not in tags

    # A detached checkout (what CI checkouts of pull requests look like): the branch comes from CI.
    git_cmd(repo, "checkout", "-q", "--detach")
    tags = run_tags()
    assert "context.git.branch" not in tags
    assert tags["context.ci.branch"] == "feature/gpu"
    assert "context.ci.commit" not in tags


def test_outside_ci_there_are_no_ci_tags(outside_git, run_tags: Callable[..., dict[str, str]]) -> None:
    tags = run_tags()
    assert not any(k.startswith("context.ci.") for k in tags)
    assert tags["context.host.python"]  # the provider did run


def test_credentials_in_ci_urls_are_stripped(monkeypatch: pytest.MonkeyPatch, outside_git, run_tags) -> None:
    monkeypatch.setenv("JENKINS_URL", "https://jenkins.example.com/")
    monkeypatch.setenv("BUILD_NUMBER", "3")
    monkeypatch.setenv("BUILD_URL", "https://bot:hunter2-token@jenkins.example.com/job/m/3/")
    tags = run_tags(everything=True)
    assert tags["context.ci.job_url"] == "https://jenkins.example.com/job/m/3/"
    assert not any("hunter2" in v for v in tags.values())

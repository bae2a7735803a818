"""CI vendors, each read from the variables its documentation lists.

GitHub Actions  https://docs.github.com/actions/learn-github-actions/variables#default-environment-variables
GitLab CI       https://docs.gitlab.com/ee/ci/variables/predefined_variables.html
Jenkins         https://www.jenkins.io/doc/book/pipeline/jenkinsfile/#using-environment-variables
                (+ CHANGE_ID/BRANCH_NAME of multibranch pipelines, GIT_COMMIT/GIT_BRANCH of the git plugin)
Buildkite       https://buildkite.com/docs/pipelines/environment-variables
CircleCI        https://circleci.com/docs/variables/#built-in-environment-variables
Azure Pipelines https://learn.microsoft.com/azure/devops/pipelines/build/variables
Bitbucket       https://support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

Env = Mapping[str, str]


@dataclass(frozen=True)
class CiInfo:
    provider: str
    pipeline_url: str | None = None
    job_url: str | None = None
    build_number: str | None = None
    pr_number: str | None = None
    commit: str | None = None
    branch: str | None = None


def _get(env: Env, *names: str) -> str | None:
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def _strip_ref(ref: str | None) -> str | None:
    if ref is None:
        return None
    for prefix in ("refs/heads/", "origin/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def _number(value: str | None) -> str | None:
    return value if value and value.isdigit() else None


def github_actions(env: Env) -> CiInfo | None:
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    server, repo, run_id = _get(env, "GITHUB_SERVER_URL"), _get(env, "GITHUB_REPOSITORY"), _get(env, "GITHUB_RUN_ID")
    pipeline = f"{server}/{repo}/actions/runs/{run_id}" if server and repo and run_id else None
    attempt = _get(env, "GITHUB_RUN_ATTEMPT")
    pr = re.fullmatch(r"refs/pull/(\d+)/(?:merge|head)", _get(env, "GITHUB_REF") or "")
    branch = _get(env, "GITHUB_HEAD_REF") or (
        _get(env, "GITHUB_REF_NAME") if env.get("GITHUB_REF_TYPE") == "branch" else None
    )
    return CiInfo(
        provider="github_actions",
        pipeline_url=pipeline,
        job_url=f"{pipeline}/attempts/{attempt}" if pipeline and attempt else None,
        build_number=_get(env, "GITHUB_RUN_NUMBER"),
        pr_number=pr.group(1) if pr else None,
        commit=_get(env, "GITHUB_SHA"),
        branch=branch,
    )


def gitlab_ci(env: Env) -> CiInfo | None:
    if env.get("GITLAB_CI") != "true":
        return None
    return CiInfo(
        provider="gitlab_ci",
        pipeline_url=_get(env, "CI_PIPELINE_URL"),
        job_url=_get(env, "CI_JOB_URL"),
        build_number=_get(env, "CI_PIPELINE_IID", "CI_PIPELINE_ID"),
        pr_number=_get(env, "CI_MERGE_REQUEST_IID"),
        commit=_get(env, "CI_COMMIT_SHA"),
        branch=_get(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH"),
    )


def jenkins(env: Env) -> CiInfo | None:
    if not _get(env, "JENKINS_URL") or not _get(env, "BUILD_NUMBER"):
        return None
    return CiInfo(
        provider="jenkins",
        pipeline_url=_get(env, "JOB_URL"),
        job_url=_get(env, "BUILD_URL"),
        build_number=_get(env, "BUILD_NUMBER"),
        pr_number=_get(env, "CHANGE_ID"),
        commit=_get(env, "GIT_COMMIT"),
        branch=_get(env, "CHANGE_BRANCH", "BRANCH_NAME") or _strip_ref(_get(env, "GIT_BRANCH")),
    )


def buildkite(env: Env) -> CiInfo | None:
    if env.get("BUILDKITE") != "true":
        return None
    build_url, job_id = _get(env, "BUILDKITE_BUILD_URL"), _get(env, "BUILDKITE_JOB_ID")
    return CiInfo(
        provider="buildkite",
        pipeline_url=build_url,
        job_url=f"{build_url}#{job_id}" if build_url and job_id else None,
        build_number=_get(env, "BUILDKITE_BUILD_NUMBER"),
        pr_number=_number(_get(env, "BUILDKITE_PULL_REQUEST")),  # "false" outside pull requests
        commit=_get(env, "BUILDKITE_COMMIT"),
        branch=_get(env, "BUILDKITE_BRANCH"),
    )


def circleci(env: Env) -> CiInfo | None:
    if env.get("CIRCLECI") != "true":
        return None
    workflow = _get(env, "CIRCLE_WORKFLOW_ID")
    pr_url = _get(env, "CIRCLE_PULL_REQUEST")
    pr = _get(env, "CIRCLE_PR_NUMBER") or (_number(pr_url.rstrip("/").rsplit("/", 1)[-1]) if pr_url else None)
    return CiInfo(
        provider="circleci",
        pipeline_url=f"https://app.circleci.com/pipelines/workflows/{workflow}" if workflow else None,
        job_url=_get(env, "CIRCLE_BUILD_URL"),
        build_number=_get(env, "CIRCLE_BUILD_NUM"),
        pr_number=pr,
        commit=_get(env, "CIRCLE_SHA1"),
        branch=_get(env, "CIRCLE_BRANCH"),
    )


def azure_pipelines(env: Env) -> CiInfo | None:
    if (env.get("TF_BUILD") or "").lower() != "true":
        return None
    collection = _get(env, "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")
    project, build_id = _get(env, "SYSTEM_TEAMPROJECT"), _get(env, "BUILD_BUILDID")
    pipeline = (
        f"{collection.rstrip('/')}/{quote(project)}/_build/results?buildId={build_id}"
        if collection and project and build_id else None
    )
    job_id = _get(env, "SYSTEM_JOBID")
    return CiInfo(
        provider="azure_pipelines",
        pipeline_url=pipeline,
        job_url=f"{pipeline}&view=logs&j={job_id}" if pipeline and job_id else None,
        build_number=_get(env, "BUILD_BUILDNUMBER"),
        pr_number=_get(env, "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", "SYSTEM_PULLREQUEST_PULLREQUESTID"),
        commit=_get(env, "BUILD_SOURCEVERSION"),
        branch=_strip_ref(_get(env, "SYSTEM_PULLREQUEST_SOURCEBRANCH", "BUILD_SOURCEBRANCH")),
    )


def bitbucket_pipelines(env: Env) -> CiInfo | None:
    number = _get(env, "BITBUCKET_BUILD_NUMBER")
    if not number or not _get(env, "BITBUCKET_COMMIT"):
        return None
    repo, step = _get(env, "BITBUCKET_REPO_FULL_NAME"), _get(env, "BITBUCKET_STEP_UUID")
    pipeline = f"https://bitbucket.org/{repo}/pipelines/results/{number}" if repo else None
    return CiInfo(
        provider="bitbucket_pipelines",
        pipeline_url=pipeline,
        job_url=f"{pipeline}/steps/{quote(step)}" if pipeline and step else None,
        build_number=number,
        pr_number=_get(env, "BITBUCKET_PR_ID"),
        commit=_get(env, "BITBUCKET_COMMIT"),
        branch=_get(env, "BITBUCKET_BRANCH"),
    )


VENDORS: tuple[Callable[[Env], CiInfo | None], ...] = (
    github_actions, gitlab_ci, jenkins, buildkite, circleci, azure_pipelines, bitbucket_pipelines,
)


def detect(env: Env) -> CiInfo | None:
    for vendor in VENDORS:
        info = vendor(env)
        if info is not None:
            return info
    return None

"""The one tag prefix, and every key this plugin writes (documented in the README)."""

PREFIX = "context."

CI_PROVIDER = PREFIX + "ci.provider"
CI_PIPELINE_URL = PREFIX + "ci.pipeline_url"
CI_JOB_URL = PREFIX + "ci.job_url"
CI_BUILD_NUMBER = PREFIX + "ci.build_number"
CI_PR_NUMBER = PREFIX + "ci.pr_number"
CI_COMMIT = PREFIX + "ci.commit"
CI_BRANCH = PREFIX + "ci.branch"

GIT_BRANCH = PREFIX + "git.branch"
GIT_COMMIT = PREFIX + "git.commit"
GIT_DIRTY = PREFIX + "git.dirty"
GIT_REMOTE_URL = PREFIX + "git.remote_url"

CONTAINER_RUNTIME = PREFIX + "container.runtime"
CONTAINER_IMAGE = PREFIX + "container.image"
K8S_POD = PREFIX + "k8s.pod"
K8S_NAMESPACE = PREFIX + "k8s.namespace"
K8S_NODE = PREFIX + "k8s.node"

HOST_NAME = PREFIX + "host.name"
HOST_OS = PREFIX + "host.os"
HOST_PYTHON = PREFIX + "host.python"
HOST_CPU_COUNT = PREFIX + "host.cpu_count"
HOST_GPU = PREFIX + "host.gpu"

USER_TAG_PREFIX = PREFIX + "tag."

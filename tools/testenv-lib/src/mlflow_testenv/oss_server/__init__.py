"""An HTTP server speaking the subset of Alibaba Cloud OSS's REST API that OSS artifact
repositories use, for tests (`tools/testenv up oss`). Standard library only; data on disk.

Beyond the OSS API it serves two test helpers: an ECS metadata endpoint
(`/_ecs/latest/meta-data/ram/security-credentials/<role>`, issues STS credentials) and
`/_testenv/{sts,faults,health}` (issue STS credentials, inject transient faults).
"""

from mlflow_testenv.oss_server.handler import Config, OssServer

__all__ = ["Config", "OssServer"]

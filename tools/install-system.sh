#!/usr/bin/env bash
# System packages the test servers and UI tests need (Debian/Ubuntu). Skips what is present.
# tools/testenv installs on demand too; doing it once here is faster and gives one clear message.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v git >/dev/null 2>&1 || need+=(git)
command -v mvn >/dev/null 2>&1 || need+=(maven)          # fetches Elasticsearch/OpenSearch from Maven Central
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)   # Elasticsearch 8; OpenSearch 3 needs a JDK 21+ too
ldconfig -p 2>/dev/null | grep -q "libodbc.so.2" || need+=(libodbc2)   # pyodbc (SQL Server driver) needs unixODBC
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${need[*]} (install them with your package manager)" >&2; exit 1
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "# installing system packages: ${need[*]}" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

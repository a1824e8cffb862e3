#!/usr/bin/env bash
# Installs everything the stack and the tests need on a fresh Debian machine, idempotently:
# system packages (apt), the Python environment (.venv), and Kafka's jars (Maven Central).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(postgresql prometheus prometheus-alertmanager openjdk-17-jre-headless maven wrk chromium chromium-driver)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  # keep the packages' own daemons from starting on the default ports
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[server,dev]'
  touch "$stamp"
fi

.venv/bin/python -c "from harness.kafka import ensure_kafka_libs; print('setup: kafka jars in', ensure_kafka_libs())"

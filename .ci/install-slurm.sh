#!/usr/bin/env bash
# Installs a single-node Slurm (Debian's slurm-wlm) and munge for tests/slurm/.
# Idempotent: does nothing when sbatch and the daemons are already on PATH, so CI and
# developers can call it on every run. Needs root and apt (Debian/Ubuntu).
set -euo pipefail

have_all() {
    command -v sbatch >/dev/null 2>&1 \
        && command -v slurmctld >/dev/null 2>&1 \
        && command -v slurmd >/dev/null 2>&1 \
        && command -v munged >/dev/null 2>&1
}

# `sbatch --version` needs a configuration to exist, so ask dpkg instead.
slurm_version() {
    dpkg-query -W -f='${Version}' slurm-client 2>/dev/null || echo "unknown version"
}

if have_all; then
    echo "install-slurm: Slurm already installed (slurm $(slurm_version))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-slurm: apt-get not found; install slurm-wlm and munge by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# The packages' postinst scripts try to start services; without systemd that fails harmlessly,
# and the tests start the daemons themselves under a scratch folder anyway.
$SUDO apt-get install -y -q --no-install-recommends slurm-wlm munge

have_all || { echo "install-slurm: install finished but Slurm commands are missing" >&2; exit 1; }
echo "install-slurm: installed slurm $(slurm_version)"

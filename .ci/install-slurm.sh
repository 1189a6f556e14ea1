#!/usr/bin/env bash
# Installs a single-node Slurm (Debian's slurm-wlm), munge, and Slurm's accounting (slurmdbd with
# MariaDB, so `sacct` answers) for tests/slurm/. Idempotent: does nothing when every program is
# already there, so CI and developers can call it on every run. Needs root and apt
# (Debian/Ubuntu). The tests start every daemon themselves, under a scratch folder, without
# systemd: nothing installed here is started or enabled.
set -euo pipefail

# Debian puts the daemons in /usr/sbin, which a non-root PATH lacks.
export PATH="$PATH:/usr/sbin:/sbin"
PROGRAMS=(sbatch sacct sacctmgr slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db)

missing() {
    local name
    for name in "${PROGRAMS[@]}"; do
        command -v "$name" >/dev/null 2>&1 || echo "$name"
    done
}

# `sbatch --version` needs a configuration to exist, so ask dpkg instead.
versions() {
    dpkg-query -W -f='${Package} ${Version}; ' slurm-client slurmdbd mariadb-server 2>/dev/null \
        || echo "unknown versions"
}

if [ -z "$(missing)" ]; then
    echo "install-slurm: already installed ($(versions))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-slurm: apt-get not found; install slurm-wlm, slurmdbd, munge and mariadb-server by hand" >&2
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
$SUDO apt-get install -y -q --no-install-recommends \
    slurm-wlm munge slurmdbd mariadb-server mariadb-client

still_missing="$(missing | tr '\n' ' ')"
if [ -n "$still_missing" ]; then
    echo "install-slurm: install finished but these are missing: $still_missing" >&2
    exit 1
fi
echo "install-slurm: installed ($(versions))"

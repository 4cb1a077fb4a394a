#!/usr/bin/env bash
# Build and install the TimescaleDB extension (Apache-2 edition) into the local
# PostgreSQL from Debian's `timescaledb` source package, then preload it.
#
# The archive address is taken from this machine's own apt sources; the source
# package comes from the suite given as $TIMESCALEDB_SUITE (default: trixie).
# Idempotent: does nothing when the extension is already installed and preloaded.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
SUITE=${TIMESCALEDB_SUITE:-trixie}
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
CONF=/etc/postgresql/$PG_MAJOR/main/postgresql.conf
WORK=${TIMESCALEDB_BUILD_DIR:-/tmp/timescaledb-build}

ext_dir=$($PG_CONFIG --sharedir)/extension
if ! ls "$ext_dir"/timescaledb.control >/dev/null 2>&1; then
  # The first Debian archive URI this machine already uses.
  uri=$(grep -h -m1 -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -h -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1)
  fi
  [ -n "$uri" ] || { echo "no Debian archive found in the apt sources" >&2; exit 1; }
  cat > /etc/apt/sources.list.d/timescaledb-src.sources <<SRC
Types: deb-src
URIs: $uri
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    postgresql-server-dev-$PG_MAJOR cmake build-essential dpkg-dev libssl-dev >/dev/null
  rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
  apt-get source --download-only timescaledb >/dev/null
  dpkg-source --no-check -x ./*.dsc src >/dev/null
  cd src
  ./bootstrap -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DAPACHE_ONLY=ON \
    -DWARNINGS_AS_ERRORS=OFF -DLINTER=OFF -DPG_CONFIG=$PG_CONFIG >/dev/null
  make -C build -j"$(nproc)" >/dev/null
  make -C build install >/dev/null
  # The sources entry was only needed for the download.
  rm -f /etc/apt/sources.list.d/timescaledb-src.sources
fi

if ! grep -qE "^shared_preload_libraries.*timescaledb" "$CONF"; then
  echo "shared_preload_libraries = 'timescaledb'" >> "$CONF"
  echo "timescaledb.telemetry_level = off" >> "$CONF"
  pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main restart
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
psql -h 127.0.0.1 -U postgres -Atc "select default_version from pg_available_extensions where name='timescaledb'"

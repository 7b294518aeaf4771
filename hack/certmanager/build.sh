#!/usr/bin/env bash
# Builds bin/cert-manager-controllers, cert-manager's certificate controllers and CA injector
# wired to run out of cluster (see main.go for why), from the Go module proxy. Does nothing
# when the stamp says the binary was built from the same cert-manager version, main.go,
# go.mod, go.sum and Go toolchain.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
out="${root}/bin/cert-manager-controllers"
stamp="${root}/bin/.cert-manager-controllers.stamp"
cd "${here}"

cm_version="$(go list -m -f '{{.Version}}' github.com/cert-manager/cert-manager)"
sources="$(sha256sum main.go go.mod go.sum | awk '{print $1}' | sha256sum | awk '{print $1}')"
want="cert-manager=${cm_version} go=$(go env GOVERSION) sources=${sources}"

if [[ -x "${out}" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
  echo "cert-manager-controllers up to date in ${out} (cert-manager ${cm_version})"
  exit 0
fi

echo "building cert-manager-controllers (cert-manager ${cm_version}) into ${out}:"
echo "the first build takes a few minutes; later runs reuse it"
mkdir -p "${root}/bin"
rm -f "${stamp}"
# AppVersion goes into the user agents, and so into the field managers, of every client.
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=${cm_version}" \
  -o "${out}" .
echo "${want}" > "${stamp}"
echo "cert-manager-controllers built in ${out}"

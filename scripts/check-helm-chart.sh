#!/usr/bin/env bash
# Checks the Helm chart without a cluster: `helm lint --strict` and `helm template` with the
# default values, with values-production.yaml and with each ci/*-values.yaml (one optional part on
# each, chart-testing's convention); the rendered manifests against Kubernetes' own schemas
# (kubernetes-validate, strict: unknown fields fail too); and against checkov's policies, with the
# skips that .checkov.yaml explains. test/helm.test.ts checks what the manifests mean.
#
#   KUBERNETES_VALIDATE=... CHECKOV=... bash scripts/check-helm-chart.sh   (.ci/run sets both)
set -euo pipefail
cd "$(dirname "$0")/.."

chart=deploy/helm/supergraph
# A recent release that kubernetes-validate bundles the schemas of.
kubernetes_version=1.36.0
kubernetes_validate="${KUBERNETES_VALIDATE:-kubernetes-validate}"
checkov="${CHECKOV:-checkov}"

rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT

for values in "" "$chart/values-production.yaml" "$chart"/ci/*-values.yaml; do
  name="$(basename "${values:-default}" .yaml)"
  args=()
  if [ -n "$values" ]; then args=(--values "$values"); fi
  helm lint --strict --quiet "$chart" "${args[@]}"
  helm template supergraph "$chart" --namespace supergraph "${args[@]}" >"$rendered/$name.yaml"
  echo "rendered $name: $(grep -c '^kind:' "$rendered/$name.yaml") objects"
done

# ServiceMonitor is the Prometheus Operator's kind, whose schema is not Kubernetes': it is reported
# as unchecked (test/helm.test.ts checks what it selects).
"$kubernetes_validate" --kubernetes-version "$kubernetes_version" --strict --quiet "$rendered"/*.yaml
echo "kubernetes-validate $kubernetes_version --strict: every object valid"

"$checkov" --config-file "$chart/.checkov.yaml" --directory "$rendered"

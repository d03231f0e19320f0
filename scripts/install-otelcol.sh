#!/usr/bin/env bash
# Builds an OpenTelemetry Collector with the components deploy/observability/otel-collector.yaml
# uses, from the Go module proxy, so that test/observability-stack.test.ts can run `validate` on that file
# as the collector of the observability profile would read it. Installs to
# $(go env GOPATH)/bin/otelcol-validate. Takes about 3 minutes on a cold module cache, and nothing
# when that release is built already.
#
# Why not `go install .../cmd/otelcorecol`: that module is not published; the collector's own
# builder (ocb) is how a distribution is made. Keep VERSION at the tag of the
# otel/opentelemetry-collector-contrib image in docker-compose.yml (the test checks it).
set -euo pipefail

VERSION="${OTELCOL_VERSION:-v0.157.0}"

command -v go >/dev/null || { echo "install-otelcol: Go is required" >&2; exit 1; }
BIN_DIR="$(go env GOPATH)/bin"
# Built already, from this release: nothing to do. A different release is rebuilt.
if [ -x "$BIN_DIR/otelcol-validate" ] && [ "$(cat "$BIN_DIR/otelcol-validate.version" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi

work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
GOBIN="$work/bin" go install "go.opentelemetry.io/collector/cmd/builder@$VERSION"

cat >"$work/manifest.yaml" <<MANIFEST
dist:
  name: otelcol-validate
  description: The components of deploy/observability/otel-collector.yaml, to validate it
  output_path: $work/out
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver $VERSION
processors:
  - gomod: go.opentelemetry.io/collector/processor/batchprocessor $VERSION
  - gomod: go.opentelemetry.io/collector/processor/memorylimiterprocessor $VERSION
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/otlpexporter $VERSION
MANIFEST
"$work/bin/builder" --config "$work/manifest.yaml" >"$work/builder.log" 2>&1 || {
  cat "$work/builder.log" >&2
  exit 1
}
mkdir -p "$BIN_DIR"
cp "$work/out/otelcol-validate" "$BIN_DIR/otelcol-validate"
echo "$VERSION" >"$BIN_DIR/otelcol-validate.version"
echo "install-otelcol: $BIN_DIR/otelcol-validate ($VERSION)"

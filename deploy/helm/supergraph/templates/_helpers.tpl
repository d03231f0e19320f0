{{/*
Names and labels. A release called `graph` makes `graph-supergraph-router` and so on; with a release
called `supergraph`, plain `supergraph-router`.
*/}}
{{- define "supergraph.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "supergraph.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The labels every object carries. */}}
{{- define "supergraph.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "supergraph.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: supergraph
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "router"). */}}
{{- define "supergraph.selectorLabels" -}}
app.kubernetes.io/name: {{ include "supergraph.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "supergraph.componentLabels" -}}
{{ include "supergraph.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
The three services: their ports, as their config.ts files default them (ROUTER_PORT, USERS_PORT,
ORDERS_PORT), and their metrics ports, as npm start and docker-compose.yml set them.
*/}}
{{- define "supergraph.services" -}}
router: { port: 4000, metricsPort: 9090 }
users: { port: 4001, metricsPort: 9091 }
orders: { port: 4002, metricsPort: 9092 }
{{- end -}}

{{/* An image reference: (dict "root" $ "image" .Values.router.image). */}}
{{- define "supergraph.image" -}}
{{- $registry := .root.Values.image.registry -}}
{{- $tag := .image.tag | default .root.Values.image.tag -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $registry) .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The restricted Pod Security Standard. The UID is above 10000 so that it maps to no user of the
node; the images need no user of their own (their files are world-readable, and they write only
to the emptyDir volumes mounted for them).
*/}}
{{- define "supergraph.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "supergraph.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The Secret with the services' own secrets: the chart's, or the user's existingSecret. */}}
{{- define "supergraph.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "supergraph.fullname" .)) -}}
{{- end -}}

{{/*
A value the chart generates when it is not given: the one already in the cluster's Secret, so that
an upgrade keeps it, else a new one. Generated once per render and remembered, so that the Secret
and the checksum annotations that roll the pods see the same value.
(dict "root" $ "secret" <name> "key" <key> "value" <given> "generate" <template to make one>)
*/}}
{{- define "supergraph.generated" -}}
{{- $memo := .root.Values._generated | default dict -}}
{{- $id := printf "%s/%s" .secret .key -}}
{{- if .value -}}
{{- .value -}}
{{- else if hasKey $memo $id -}}
{{- get $memo $id -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- $value := "" -}}
{{- if and $existing (hasKey ($existing.data | default dict) .key) -}}
{{- $value = index $existing.data .key | b64dec -}}
{{- else if eq .generate "ed25519" -}}
{{- $value = genPrivateKey "ed25519" -}}
{{- else -}}
{{- $value = randAlphaNum (int .generate) -}}
{{- end -}}
{{- $_ := set $memo $id $value -}}
{{- $_ := set .root.Values "_generated" $memo -}}
{{- $value -}}
{{- end -}}
{{- end -}}

{{/* The data of the chart's own Secret for the services, keyed by the variables they read. */}}
{{- define "supergraph.secretData" -}}
{{- $name := include "supergraph.secretName" . -}}
{{- $s := .Values.secrets -}}
IDENTITY_SIGNING_SECRET: {{ include "supergraph.generated" (dict "root" . "secret" $name "key" "IDENTITY_SIGNING_SECRET" "value" $s.identitySigningSecret "generate" "64") | quote }}
JWT_PRIVATE_KEY: {{ include "supergraph.generated" (dict "root" . "secret" $name "key" "JWT_PRIVATE_KEY" "value" $s.jwtPrivateKey "generate" "ed25519") | quote }}
JWT_PREVIOUS_PUBLIC_KEY: {{ $s.jwtPreviousPublicKey | quote }}
SEED_ADMIN_PASSWORD: {{ $s.seedAdminPassword | quote }}
SEED_USER_PASSWORD: {{ $s.seedUserPassword | quote }}
{{- end -}}

{{/* MongoDB in the release: the Secret with its passwords and keyfile. */}}
{{- define "supergraph.mongodb.fullname" -}}
{{- printf "%s-mongodb" (include "supergraph.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "supergraph.mongodb.secretName" -}}
{{- .Values.mongodb.auth.existingSecret | default (include "supergraph.mongodb.fullname" .) -}}
{{- end -}}

{{/* The members' host names, through the headless Service. */}}
{{- define "supergraph.mongodb.hosts" -}}
{{- $name := include "supergraph.mongodb.fullname" . -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.mongodb.replicas) -}}
{{- $hosts = append $hosts (printf "%s-%d.%s-headless.%s.svc.cluster.local:27017" $name $i $name $.Release.Namespace) -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}

{{- define "supergraph.mongodb.secretData" -}}
{{- $name := include "supergraph.mongodb.secretName" . -}}
{{- $auth := .Values.mongodb.auth -}}
{{- $password := include "supergraph.generated" (dict "root" . "secret" $name "key" "mongodb-password" "value" $auth.password "generate" "32") -}}
mongodb-root-password: {{ include "supergraph.generated" (dict "root" . "secret" $name "key" "mongodb-root-password" "value" $auth.rootPassword "generate" "32") | quote }}
mongodb-password: {{ $password | quote }}
mongodb-replica-set-key: {{ include "supergraph.generated" (dict "root" . "secret" $name "key" "mongodb-replica-set-key" "value" $auth.replicaSetKey "generate" "756") | quote }}
{{- /* urlquery writes a space as "+", which a MongoDB URI's user info does not decode: %20. */}}
mongodb-uri: {{ printf "mongodb://%s:%s@%s/?replicaSet=%s&authSource=admin" (urlquery $auth.username | replace "+" "%20") (urlquery $password | replace "+" "%20") (include "supergraph.mongodb.hosts" .) .Values.mongodb.replicaSetName | quote }}
{{- end -}}

{{/* Where the subgraphs' MONGODB_URI is: a Secret's name and key. */}}
{{- define "supergraph.mongodbUriRef" -}}
{{- if .Values.mongodb.enabled -}}
name: {{ include "supergraph.mongodb.secretName" . }}
key: mongodb-uri
{{- else if .Values.mongodb.external.existingSecret -}}
name: {{ .Values.mongodb.external.existingSecret }}
key: {{ .Values.mongodb.external.existingSecretKey }}
{{- else -}}
name: {{ include "supergraph.mongodb.fullname" . }}-external
key: mongodb-uri
{{- end -}}
{{- end -}}

{{/* sha256 of a Secret's data, for the annotation that rolls the pods when it changes. */}}
{{- define "supergraph.checksum" -}}
{{- . | sha256sum -}}
{{- end -}}

{{/* terminationGracePeriodSeconds: the drain, the preStop pause, and 5 s to exit. */}}
{{- define "supergraph.terminationGracePeriodSeconds" -}}
{{- add (div (add (int .Values.shutdownGraceMs) 999) 1000) (int .Values.preStopSleepSeconds) 5 -}}
{{- end -}}

{{/*
Annotations that tell checkov (.ci/run) why a check does not apply to what these values render:
(dict "root" $ "image" .Values.router.image), for a workload.
*/}}
{{- define "supergraph.checkovSkips" -}}
{{- $skips := list -}}
{{- if eq (.image.tag | default .root.Values.image.tag) "latest" -}}
{{- $skips = append $skips "CKV_K8S_14=image.tag latest is what docker compose build tags, for a cluster that has the images loaded; values-production.yaml pins a version" -}}
{{- end -}}
{{- if not .root.Values.networkPolicy.enabled -}}
{{- $skips = append $skips "CKV2_K8S_6=networkPolicy.enabled is false: the cluster's own NetworkPolicies apply" -}}
{{- end -}}
{{- range $i, $skip := $skips }}
checkov.io/skip{{ add1 $i }}: {{ $skip | quote }}
{{- end -}}
{{- end -}}

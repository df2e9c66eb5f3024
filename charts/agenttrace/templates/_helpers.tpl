{{/*
Names. The chart's fullname is "<release>" when the release name contains
the chart name (helm install agenttrace ./charts/agenttrace), otherwise
"<release>-agenttrace"; service resources are "<fullname>-<service>".
*/}}
{{- define "agenttrace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agenttrace.fullname" -}}
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

{{/* "<fullname>-<component>"; call with (dict "root" $ "component" "gateway"). */}}
{{- define "agenttrace.componentName" -}}
{{- printf "%s-%s" (include "agenttrace.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agenttrace.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels common to every resource of the release. */}}
{{- define "agenttrace.labels" -}}
helm.sh/chart: {{ include "agenttrace.chart" . }}
app.kubernetes.io/part-of: agenttrace
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels of a component; call with (dict "root" $ "component" "gateway"). */}}
{{- define "agenttrace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agenttrace.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of a component; call with (dict "root" $ "component" "gateway"). */}}
{{- define "agenttrace.componentLabels" -}}
{{ include "agenttrace.labels" .root }}
{{ include "agenttrace.selectorLabels" . }}
{{- end -}}

{{/*
The shared Secret. Its name is global.existingSecret or "<release>-secrets";
the store subcharts compute the same name from the same values.
*/}}
{{- define "agenttrace.secretName" -}}
{{- .Values.global.existingSecret | default (printf "%s-secrets" .Release.Name) -}}
{{- end -}}

{{- define "agenttrace.configMapName" -}}
{{- printf "%s-config" (include "agenttrace.fullname" .) -}}
{{- end -}}

{{/* The Secret holding a store's password; call with (dict "root" $ "store" "postgres"). */}}
{{- define "agenttrace.storeSecretName" -}}
{{- $s := index .root.Values .store -}}
{{- $s.existingSecret | default (include "agenttrace.secretName" .root) -}}
{{- end -}}

{{/* A store's host: the subchart's Service when deployed, else store.host. */}}
{{- define "agenttrace.storeHost" -}}
{{- $s := index .root.Values .store -}}
{{- if $s.deploy -}}
{{- printf "%s-%s.%s.svc" .root.Release.Name .store .root.Release.Namespace -}}
{{- else -}}
{{- required (printf "%s.host is required when %s.deploy is false" .store .store) $s.host -}}
{{- end -}}
{{- end -}}

{{- define "agenttrace.storeAddr" -}}
{{- $s := index .root.Values .store -}}
{{- printf "%s:%v" (include "agenttrace.storeHost" .) $s.port -}}
{{- end -}}

{{/* The gRPC address of a service inside the cluster. */}}
{{- define "agenttrace.serviceAddr" -}}
{{- printf "%s:%d" (include "agenttrace.componentName" .) (index (include "agenttrace.ports" . | fromYaml) "grpc" | int) -}}
{{- end -}}

{{/* Container ports per service (admin "http", "grpc" and the extra ones). */}}
{{- define "agenttrace.ports" -}}
{{- if eq .component "gateway" -}}
grpc: 9080
http: 9180
api: 8080
{{- else if eq .component "ingest" -}}
grpc: 9081
http: 9181
otlp-grpc: 4317
{{- else if eq .component "query" -}}
grpc: 9082
http: 9182
{{- else if eq .component "auth" -}}
grpc: 9083
http: 9183
{{- else if eq .component "worker" -}}
grpc: 9084
http: 9184
{{- end -}}
{{- end -}}

{{/*
A service's image: <registry>/<repository>:<tag>, where the registry is
image.registry or global.imageRegistry. A repository with a "/" is already
complete (skaffold's --default-repo) and is used as it is. AgentTrace
publishes no images, so without a registry the chart refuses to render
(instead of installing pods that end in ImagePullBackOff) unless
image.local says the images are on the nodes already (kind load, ctr import).
*/}}
{{- define "agenttrace.image" -}}
{{- $v := .root.Values -}}
{{- $svc := index $v .component -}}
{{- $tag := $svc.image.tag | default $v.image.tag | default .root.Chart.AppVersion -}}
{{- $registry := $v.image.registry | default $v.global.imageRegistry | trimSuffix "/" -}}
{{- if contains "/" $svc.image.repository -}}
{{- printf "%s:%s" $svc.image.repository $tag -}}
{{- else if $registry -}}
{{- printf "%s/%s:%s" $registry $svc.image.repository $tag -}}
{{- else if $v.image.local -}}
{{- printf "%s:%s" $svc.image.repository $tag -}}
{{- else -}}
{{- fail "image.registry is not set. AgentTrace publishes no images yet: build the five service images and push them to a registry the cluster pulls from (`make images IMAGE_PREFIX=<registry>/ IMAGE_TAG=<tag>` then docker push, or `KO_DOCKER_REPO=<registry> ko build --bare ...`; see charts/agenttrace/README.md, Images), then install with --set image.registry=<registry> --set image.tag=<tag>. Images already on the nodes under their bare names (kind load, ctr import): --set image.local=true." -}}
{{- end -}}
{{- end -}}

{{/* An image given as "repository:tag" (stores, backups, the test pod), behind global.imageRegistry when set. */}}
{{- define "agenttrace.otherImage" -}}
{{- $registry := .root.Values.global.imageRegistry | trimSuffix "/" -}}
{{- if $registry }}{{ printf "%s/%s" $registry .image }}{{ else }}{{ .image }}{{ end -}}
{{- end -}}

{{/* imagePullSecrets of every pod of the release (global.imagePullSecrets); call with the root or a subchart's context. */}}
{{- define "agenttrace.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The ServiceAccount of a component (the services, migrations, backup):
<component>.serviceAccount.name, or "<fullname>-<component>" when the chart
creates it. Call with (dict "root" $ "component" "gateway").
*/}}
{{- define "agenttrace.serviceAccountName" -}}
{{- $sa := (index .root.Values .component).serviceAccount | default dict -}}
{{- if $sa.create -}}
{{- $sa.name | default (include "agenttrace.componentName" .) -}}
{{- else -}}
{{- $sa.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/*
The ConfigMap's data: every non-secret setting as an AGENTTRACE_* key.
Rendered once into the ConfigMap; each Deployment references only the
keys its service reads (agenttrace.configKeys).
*/}}
{{- define "agenttrace.configData" -}}
{{- $c := .Values.config -}}
{{- $d := dict -}}
{{- $_ := set $d "AGENTTRACE_LOG_LEVEL" $c.logLevel -}}
{{- $_ := set $d "AGENTTRACE_LOG_FORMAT" $c.logFormat -}}
{{- $_ := set $d "AGENTTRACE_DRAIN_DELAY" $c.drainDelay -}}
{{- $_ := set $d "AGENTTRACE_SHUTDOWN_TIMEOUT" $c.shutdownTimeout -}}
{{- if $c.otlpEndpoint }}{{ $_ := set $d "AGENTTRACE_OTEL_EXPORTER_OTLP_ENDPOINT" $c.otlpEndpoint }}{{ end -}}
{{- /* gateway */ -}}
{{- $_ := set $d "AGENTTRACE_INGEST_ADDR" (include "agenttrace.serviceAddr" (dict "root" . "component" "ingest")) -}}
{{- $_ := set $d "AGENTTRACE_QUERY_ADDR" (include "agenttrace.serviceAddr" (dict "root" . "component" "query")) -}}
{{- $_ := set $d "AGENTTRACE_AUTH_ADDR" (include "agenttrace.serviceAddr" (dict "root" . "component" "auth")) -}}
{{- $_ := set $d "AGENTTRACE_GATEWAY_MAX_BODY_BYTES" $c.gateway.maxBodyBytes -}}
{{- $_ := set $d "AGENTTRACE_GATEWAY_MAX_RESPONSE_BYTES" $c.gateway.maxResponseBytes -}}
{{- $_ := set $d "AGENTTRACE_GATEWAY_REQUEST_TIMEOUT" $c.gateway.requestTimeout -}}
{{- $_ := set $d "AGENTTRACE_HTTP_READ_HEADER_TIMEOUT" $c.gateway.readHeaderTimeout -}}
{{- $_ := set $d "AGENTTRACE_HTTP_READ_TIMEOUT" $c.gateway.readTimeout -}}
{{- $_ := set $d "AGENTTRACE_HTTP_WRITE_TIMEOUT" $c.gateway.writeTimeout -}}
{{- $_ := set $d "AGENTTRACE_HTTP_IDLE_TIMEOUT" $c.gateway.idleTimeout -}}
{{- /* ingest */ -}}
{{- $_ := set $d "AGENTTRACE_INGEST_MAX_BATCH" $c.ingest.maxBatch -}}
{{- $_ := set $d "AGENTTRACE_INGEST_MAX_REQUEST_BYTES" $c.ingest.maxRequestBytes -}}
{{- $_ := set $d "AGENTTRACE_INGEST_MAX_EVENT_BYTES" $c.ingest.maxEventBytes -}}
{{- $_ := set $d "AGENTTRACE_INGEST_PUBLISH_TIMEOUT" $c.ingest.publishTimeout -}}
{{- $_ := set $d "AGENTTRACE_INGEST_AUDIT_TIMEOUT" $c.ingest.auditTimeout -}}
{{- /* auth client */ -}}
{{- $_ := set $d "AGENTTRACE_AUTH_CACHE_TTL" $c.authCacheTTL -}}
{{- $_ := set $d "AGENTTRACE_AUTH_CACHE_STALE_FOR" $c.authCacheStaleFor -}}
{{- /* PostgreSQL pool */ -}}
{{- $_ := set $d "AGENTTRACE_POSTGRES_MAX_CONNS" $c.postgres.maxConns -}}
{{- $_ := set $d "AGENTTRACE_POSTGRES_MIN_CONNS" $c.postgres.minConns -}}
{{- $_ := set $d "AGENTTRACE_POSTGRES_MAX_CONN_LIFETIME" $c.postgres.maxConnLifetime -}}
{{- $_ := set $d "AGENTTRACE_POSTGRES_MAX_CONN_IDLE_TIME" $c.postgres.maxConnIdleTime -}}
{{- $_ := set $d "AGENTTRACE_POSTGRES_CONNECT_TIMEOUT" $c.postgres.connectTimeout -}}
{{- /* ClickHouse */ -}}
{{- $_ := set $d "AGENTTRACE_CLICKHOUSE_ADDR" (include "agenttrace.storeAddr" (dict "root" . "store" "clickhouse")) -}}
{{- $_ := set $d "AGENTTRACE_CLICKHOUSE_DATABASE" .Values.clickhouse.database -}}
{{- $_ := set $d "AGENTTRACE_CLICKHOUSE_USER" .Values.clickhouse.user -}}
{{- $_ := set $d "AGENTTRACE_CLICKHOUSE_MAX_OPEN_CONNS" $c.clickhouse.maxOpenConns -}}
{{- $_ := set $d "AGENTTRACE_CLICKHOUSE_DIAL_TIMEOUT" $c.clickhouse.dialTimeout -}}
{{- $_ := set $d "AGENTTRACE_CLICKHOUSE_QUERY_TIMEOUT" $c.clickhouse.queryTimeout -}}
{{- /* Redis and rate limiting */ -}}
{{- $_ := set $d "AGENTTRACE_REDIS_ADDR" (include "agenttrace.storeAddr" (dict "root" . "store" "redis")) -}}
{{- $_ := set $d "AGENTTRACE_REDIS_DB" $c.redis.db -}}
{{- $_ := set $d "AGENTTRACE_REDIS_TIMEOUT" $c.redis.timeout -}}
{{- $_ := set $d "AGENTTRACE_REDIS_RETRY_INTERVAL" $c.redis.retryInterval -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_ENABLED" $c.rateLimit.enabled -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_KEY_PREFIX" $c.rateLimit.keyPrefix -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_INGEST_PROJECT_RATE" $c.rateLimit.ingestProjectRate -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_INGEST_PROJECT_BURST" $c.rateLimit.ingestProjectBurst -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_INGEST_KEY_RATE" $c.rateLimit.ingestKeyRate -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_INGEST_KEY_BURST" $c.rateLimit.ingestKeyBurst -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_QUERY_PROJECT_RATE" $c.rateLimit.queryProjectRate -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_QUERY_PROJECT_BURST" $c.rateLimit.queryProjectBurst -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_QUERY_KEY_RATE" $c.rateLimit.queryKeyRate -}}
{{- $_ := set $d "AGENTTRACE_RATELIMIT_QUERY_KEY_BURST" $c.rateLimit.queryKeyBurst -}}
{{- /* NATS */ -}}
{{- $_ := set $d "AGENTTRACE_NATS_URL" (printf "nats://%s" (include "agenttrace.storeAddr" (dict "root" . "store" "nats"))) -}}
{{- if include "agenttrace.natsAuth" . }}{{ $_ := set $d "AGENTTRACE_NATS_USER" .Values.nats.user }}{{ end -}}
{{- $_ := set $d "AGENTTRACE_NATS_NAMESPACE" $c.nats.namespace -}}
{{- $_ := set $d "AGENTTRACE_NATS_STREAM_REPLICAS" $c.nats.streamReplicas -}}
{{- $_ := set $d "AGENTTRACE_NATS_DUPLICATE_WINDOW" $c.nats.duplicateWindow -}}
{{- $_ := set $d "AGENTTRACE_NATS_STREAM_MAX_BYTES" $c.nats.streamMaxBytes -}}
{{- $_ := set $d "AGENTTRACE_NATS_DLQ_MAX_AGE" $c.nats.dlqMaxAge -}}
{{- /* auth */ -}}
{{- $_ := set $d "AGENTTRACE_AUTH_LAST_USED_FLUSH_INTERVAL" $c.auth.lastUsedFlushInterval -}}
{{- $_ := set $d "AGENTTRACE_INVITATION_TTL" $c.auth.invitationTTL -}}
{{- $_ := set $d "AGENTTRACE_ACCESS_TOKEN_TTL" $c.jwt.accessTokenTTL -}}
{{- $_ := set $d "AGENTTRACE_REFRESH_TOKEN_TTL" $c.jwt.refreshTokenTTL -}}
{{- $_ := set $d "AGENTTRACE_LOGIN_ACCOUNT_ATTEMPTS" $c.login.accountAttempts -}}
{{- $_ := set $d "AGENTTRACE_LOGIN_ADDRESS_ATTEMPTS" $c.login.addressAttempts -}}
{{- $_ := set $d "AGENTTRACE_LOGIN_LIMIT_PERIOD" $c.login.period -}}
{{- /* worker */ -}}
{{- $w := $c.worker -}}
{{- $_ := set $d "AGENTTRACE_WORKER_CONSUMER" $w.consumer -}}
{{- $_ := set $d "AGENTTRACE_WORKER_FETCH_BATCH" $w.fetchBatch -}}
{{- $_ := set $d "AGENTTRACE_WORKER_FETCH_WAIT" $w.fetchWait -}}
{{- $_ := set $d "AGENTTRACE_WORKER_FLUSH_ROWS" $w.flushRows -}}
{{- $_ := set $d "AGENTTRACE_WORKER_FLUSH_BYTES" $w.flushBytes -}}
{{- $_ := set $d "AGENTTRACE_WORKER_FLUSH_INTERVAL" $w.flushInterval -}}
{{- $_ := set $d "AGENTTRACE_WORKER_FLUSH_MAX_INTERVAL" $w.flushMaxInterval -}}
{{- $_ := set $d "AGENTTRACE_WORKER_INSERT_CONCURRENCY" $w.insertConcurrency -}}
{{- $_ := set $d "AGENTTRACE_WORKER_MAX_DELIVER" $w.maxDeliver -}}
{{- $_ := set $d "AGENTTRACE_WORKER_ACK_WAIT" $w.ackWait -}}
{{- if $w.maxAckPending }}{{ $_ := set $d "AGENTTRACE_WORKER_MAX_ACK_PENDING" $w.maxAckPending }}{{ end -}}
{{- $_ := set $d "AGENTTRACE_WORKER_RETRY_BACKOFF" $w.retryBackoff -}}
{{- $_ := set $d "AGENTTRACE_WORKER_RETRY_BACKOFF_MAX" $w.retryBackoffMax -}}
{{- $_ := set $d "AGENTTRACE_WORKER_QUEUE_POLL_INTERVAL" $w.queuePollInterval -}}
{{- $_ := set $d "AGENTTRACE_WORKER_RETENTION_INTERVAL" $w.retentionInterval -}}
{{- $_ := set $d "AGENTTRACE_WORKER_ROLLUP_INTERVAL" $w.rollupInterval -}}
{{- $_ := set $d "AGENTTRACE_WORKER_ROLLUP_SETTLE" $w.rollupSettle -}}
{{- $_ := set $d "AGENTTRACE_WORKER_PRICES_REFRESH" $w.pricesRefresh -}}
{{- $_ := set $d "AGENTTRACE_WORKER_PRICES_FIRST_LOAD_WAIT" $w.pricesFirstLoadWait -}}
{{- $_ := set $d "AGENTTRACE_WORKER_MUTATION_WAIT" $w.mutationWait -}}
{{- range $k, $v := $d }}
{{- /* YAML numbers arrive as float64; print integers without an exponent. */}}
{{ $k }}: {{ (kindIs "float64" $v | ternary (printf "%d" (int64 $v)) (toString $v)) | quote }}
{{- end }}
{{- end -}}

{{/*
The ConfigMap keys each service reads (from its config struct: config.Base,
stream.Config, clickhousedb.Config, authn.ClientConfig, ratelimit.Config,
pgstore.Config and the service's own fields). Keys absent from the
ConfigMap (optional, unset) are skipped.
*/}}
{{- define "agenttrace.configKeys" -}}
{{- $base := list "AGENTTRACE_LOG_LEVEL" "AGENTTRACE_LOG_FORMAT" "AGENTTRACE_DRAIN_DELAY" "AGENTTRACE_SHUTDOWN_TIMEOUT" "AGENTTRACE_OTEL_EXPORTER_OTLP_ENDPOINT" -}}
{{- $nats := list "AGENTTRACE_NATS_URL" "AGENTTRACE_NATS_USER" "AGENTTRACE_NATS_NAMESPACE" "AGENTTRACE_NATS_STREAM_REPLICAS" "AGENTTRACE_NATS_DUPLICATE_WINDOW" "AGENTTRACE_NATS_STREAM_MAX_BYTES" "AGENTTRACE_NATS_DLQ_MAX_AGE" -}}
{{- $authClient := list "AGENTTRACE_AUTH_ADDR" "AGENTTRACE_AUTH_CACHE_TTL" "AGENTTRACE_AUTH_CACHE_STALE_FOR" -}}
{{- $rate := list "AGENTTRACE_REDIS_ADDR" "AGENTTRACE_REDIS_DB" "AGENTTRACE_REDIS_TIMEOUT" "AGENTTRACE_REDIS_RETRY_INTERVAL" "AGENTTRACE_RATELIMIT_ENABLED" "AGENTTRACE_RATELIMIT_KEY_PREFIX" "AGENTTRACE_RATELIMIT_INGEST_PROJECT_RATE" "AGENTTRACE_RATELIMIT_INGEST_PROJECT_BURST" "AGENTTRACE_RATELIMIT_INGEST_KEY_RATE" "AGENTTRACE_RATELIMIT_INGEST_KEY_BURST" "AGENTTRACE_RATELIMIT_QUERY_PROJECT_RATE" "AGENTTRACE_RATELIMIT_QUERY_PROJECT_BURST" "AGENTTRACE_RATELIMIT_QUERY_KEY_RATE" "AGENTTRACE_RATELIMIT_QUERY_KEY_BURST" -}}
{{- $ch := list "AGENTTRACE_CLICKHOUSE_ADDR" "AGENTTRACE_CLICKHOUSE_DATABASE" "AGENTTRACE_CLICKHOUSE_USER" "AGENTTRACE_CLICKHOUSE_MAX_OPEN_CONNS" "AGENTTRACE_CLICKHOUSE_DIAL_TIMEOUT" "AGENTTRACE_CLICKHOUSE_QUERY_TIMEOUT" -}}
{{- $pg := list "AGENTTRACE_POSTGRES_MAX_CONNS" "AGENTTRACE_POSTGRES_MIN_CONNS" "AGENTTRACE_POSTGRES_MAX_CONN_LIFETIME" "AGENTTRACE_POSTGRES_MAX_CONN_IDLE_TIME" "AGENTTRACE_POSTGRES_CONNECT_TIMEOUT" -}}
{{- $keys := $base -}}
{{- if eq .component "gateway" -}}
{{- $keys = concat $keys (list "AGENTTRACE_INGEST_ADDR" "AGENTTRACE_QUERY_ADDR" "AGENTTRACE_AUTH_ADDR" "AGENTTRACE_GATEWAY_MAX_BODY_BYTES" "AGENTTRACE_GATEWAY_MAX_RESPONSE_BYTES" "AGENTTRACE_GATEWAY_REQUEST_TIMEOUT" "AGENTTRACE_HTTP_READ_HEADER_TIMEOUT" "AGENTTRACE_HTTP_READ_TIMEOUT" "AGENTTRACE_HTTP_WRITE_TIMEOUT" "AGENTTRACE_HTTP_IDLE_TIMEOUT") -}}
{{- else if eq .component "ingest" -}}
{{- $keys = concat $keys $nats $authClient $rate (list "AGENTTRACE_INGEST_MAX_BATCH" "AGENTTRACE_INGEST_MAX_REQUEST_BYTES" "AGENTTRACE_INGEST_MAX_EVENT_BYTES" "AGENTTRACE_INGEST_PUBLISH_TIMEOUT" "AGENTTRACE_INGEST_AUDIT_TIMEOUT") -}}
{{- else if eq .component "query" -}}
{{- $keys = concat $keys $ch $nats $authClient $rate -}}
{{- else if eq .component "auth" -}}
{{- $keys = concat $keys $nats $pg $rate (list "AGENTTRACE_AUTH_CACHE_TTL" "AGENTTRACE_AUTH_LAST_USED_FLUSH_INTERVAL" "AGENTTRACE_INVITATION_TTL" "AGENTTRACE_ACCESS_TOKEN_TTL" "AGENTTRACE_REFRESH_TOKEN_TTL" "AGENTTRACE_LOGIN_ACCOUNT_ATTEMPTS" "AGENTTRACE_LOGIN_ADDRESS_ATTEMPTS" "AGENTTRACE_LOGIN_LIMIT_PERIOD") -}}
{{- else if eq .component "worker" -}}
{{- $keys = concat $keys $nats $ch $authClient (list "AGENTTRACE_WORKER_CONSUMER" "AGENTTRACE_WORKER_FETCH_BATCH" "AGENTTRACE_WORKER_FETCH_WAIT" "AGENTTRACE_WORKER_FLUSH_ROWS" "AGENTTRACE_WORKER_FLUSH_BYTES" "AGENTTRACE_WORKER_FLUSH_INTERVAL" "AGENTTRACE_WORKER_FLUSH_MAX_INTERVAL" "AGENTTRACE_WORKER_INSERT_CONCURRENCY" "AGENTTRACE_WORKER_MAX_DELIVER" "AGENTTRACE_WORKER_ACK_WAIT" "AGENTTRACE_WORKER_MAX_ACK_PENDING" "AGENTTRACE_WORKER_RETRY_BACKOFF" "AGENTTRACE_WORKER_RETRY_BACKOFF_MAX" "AGENTTRACE_WORKER_QUEUE_POLL_INTERVAL" "AGENTTRACE_WORKER_RETENTION_INTERVAL" "AGENTTRACE_WORKER_ROLLUP_INTERVAL" "AGENTTRACE_WORKER_ROLLUP_SETTLE" "AGENTTRACE_WORKER_PRICES_REFRESH" "AGENTTRACE_WORKER_PRICES_FIRST_LOAD_WAIT" "AGENTTRACE_WORKER_MUTATION_WAIT") -}}
{{- end -}}
{{- toYaml (uniq $keys) -}}
{{- end -}}

{{/*
The secret env vars each service reads, as secretKeyRefs. Passwords never
go into a URL: auth gets AGENTTRACE_POSTGRES_PASSWORD beside a URL without
one, so any password works (openssl rand -base64 32 gives "/", "+", "=").
*/}}
{{- define "agenttrace.secretEnv" -}}
{{- $root := .root -}}
{{- $shared := include "agenttrace.secretName" $root -}}
{{- $c := .component -}}
{{- if has $c (list "auth") }}
- name: AGENTTRACE_POSTGRES_URL
  value: {{ include "agenttrace.postgresURL" $root | quote }}
- name: AGENTTRACE_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "agenttrace.storeSecretName" (dict "root" $root "store" "postgres") }}
      key: {{ $root.Values.postgres.passwordKey }}
- name: AGENTTRACE_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $shared }}
      key: encryption-key
{{- end }}
{{- if has $c (list "auth" "ingest" "worker") }}
- name: AGENTTRACE_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $shared }}
      key: jwt-secret
{{- end }}
{{- if has $c (list "query" "worker") }}
- name: AGENTTRACE_CLICKHOUSE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "agenttrace.storeSecretName" (dict "root" $root "store" "clickhouse") }}
      key: {{ $root.Values.clickhouse.passwordKey }}
{{- end }}
{{- if has $c (list "ingest" "query" "auth") }}
- name: AGENTTRACE_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "agenttrace.storeSecretName" (dict "root" $root "store" "redis") }}
      key: {{ $root.Values.redis.passwordKey }}
{{- end }}
{{- if and (has $c (list "ingest" "query" "auth" "worker")) (include "agenttrace.natsAuth" $root) }}
- name: AGENTTRACE_NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "agenttrace.storeSecretName" (dict "root" $root "store" "nats") }}
      key: {{ $root.Values.nats.passwordKey }}
{{- end }}
{{- end -}}

{{/* The PostgreSQL URL, without the password (AGENTTRACE_POSTGRES_PASSWORD carries it). */}}
{{- define "agenttrace.postgresURL" -}}
{{- $p := .Values.postgres -}}
{{- printf "postgres://%s@%s/%s?sslmode=%s" (urlquery $p.user) (include "agenttrace.storeAddr" (dict "root" . "store" "postgres")) (urlquery $p.database) $p.sslmode -}}
{{- end -}}

{{/* env of a service container: ConfigMap keys, then secrets, then extraEnv. */}}
{{- define "agenttrace.env" -}}
{{- $root := .root -}}
{{- $cfg := include "agenttrace.configData" $root | fromYaml -}}
{{- $cm := include "agenttrace.configMapName" $root -}}
{{- range $key := include "agenttrace.configKeys" . | fromYamlArray }}
{{- if hasKey $cfg $key }}
- name: {{ $key }}
  valueFrom:
    configMapKeyRef:
      name: {{ $cm }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- include "agenttrace.secretEnv" . }}
{{- with (index $root.Values .component).extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}


{{/* Pod annotations that roll the pods when the config or the chart-managed Secret changes. */}}
{{- define "agenttrace.checksums" -}}
checksum/config: {{ include "agenttrace.configData" . | sha256sum }}
{{- end -}}

{{/*
replicas of a Deployment whose HPA owns the scale. A render that sees the
cluster writes what the cluster runs now (so an upgrade keeps the HPA's
choice), or minReplicas for a Deployment not created yet, so that the first
`helm install --wait` waits for that many pods rather than for the one a
Deployment without replicas starts with. A render that cannot see the
cluster (helm template, Argo CD) leaves replicas out and the HPA alone.
*/}}
{{- define "agenttrace.hpaReplicas" -}}
{{- $ns := .root.Release.Namespace -}}
{{- if lookup "v1" "ConfigMap" $ns "kube-root-ca.crt" -}}
{{- with lookup "apps/v1" "Deployment" $ns (include "agenttrace.componentName" .) -}}
{{- .spec.replicas -}}
{{- else -}}
{{- (index .root.Values .component).autoscaling.minReplicas -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The components, in a stable order. */}}
{{- define "agenttrace.components" -}}
{{- toYaml (list "gateway" "ingest" "query" "auth" "worker") -}}
{{- end -}}

{{/*
env of the migrations: like agenttrace.env but with the ConfigMap's values
inline, so that the Job's pod template (and with it the Job's name) changes
with every setting the migrations read.
*/}}
{{- define "agenttrace.inlineEnv" -}}
{{- $root := .root -}}
{{- $cfg := include "agenttrace.configData" $root | fromYaml -}}
{{- range $key := include "agenttrace.configKeys" . | fromYamlArray }}
{{- if hasKey $cfg $key }}
- name: {{ $key }}
  value: {{ index $cfg $key | quote }}
{{- end }}
{{- end }}
{{- include "agenttrace.secretEnv" . }}
{{- end -}}

{{/* The migrations Job's pod template (migrations-job.yaml names the Job after its hash). */}}
{{- define "agenttrace.migrationsPod" -}}
{{- $ctx := dict "root" . "component" "migrations" -}}
metadata:
  labels:
    {{- include "agenttrace.componentLabels" $ctx | nindent 4 }}
spec:
  restartPolicy: OnFailure
  serviceAccountName: {{ include "agenttrace.serviceAccountName" $ctx }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- include "agenttrace.imagePullSecrets" . | nindent 2 }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    {{- range $store, $svc := dict "postgres" "auth" "clickhouse" "worker" }}
    - name: {{ $store }}
      image: {{ include "agenttrace.image" (dict "root" $ "component" $svc) | quote }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      args: ["migrate", "up"]
      env:
        {{- include "agenttrace.inlineEnv" (dict "root" $ "component" $svc) | trim | nindent 8 }}
        # Until the store answers (it may be starting with the release).
        - name: AGENTTRACE_MIGRATE_WAIT
          value: {{ $.Values.migrations.waitTimeout | quote }}
      resources:
        {{- toYaml $.Values.migrations.resources | nindent 8 }}
      securityContext:
        {{- toYaml $.Values.containerSecurityContext | nindent 8 }}
    {{- end }}
{{- end -}}

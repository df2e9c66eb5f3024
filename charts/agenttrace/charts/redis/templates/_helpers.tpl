{{/* "<release>-redis": the umbrella chart computes the same name to reach it. */}}
{{- define "redis.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "redis.selectorLabels" -}}
app: redis
app.kubernetes.io/name: redis
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{- define "redis.labels" -}}
{{ include "redis.selectorLabels" . }}
app.kubernetes.io/part-of: agenttrace
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret with the password: existingSecret, global.existingSecret or "<release>-secrets" (the umbrella's). */}}
{{- define "redis.secretName" -}}
{{- .Values.existingSecret | default .Values.global.existingSecret | default (printf "%s-secrets" .Release.Name) -}}
{{- end -}}

{{/* "<release>-nats": the umbrella chart computes the same name to reach it. */}}
{{- define "nats.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "nats.selectorLabels" -}}
app: nats
app.kubernetes.io/name: nats
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: nats
{{- end -}}

{{- define "nats.labels" -}}
{{ include "nats.selectorLabels" . }}
app.kubernetes.io/part-of: agenttrace
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret with the password: existingSecret, global.existingSecret or "<release>-secrets" (the umbrella's). */}}
{{- define "nats.secretName" -}}
{{- .Values.existingSecret | default .Values.global.existingSecret | default (printf "%s-secrets" .Release.Name) -}}
{{- end -}}

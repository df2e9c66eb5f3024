{{/* "true" when NATS requires user and password: the umbrella's rule (agenttrace.natsAuthFor; the password is optional). */}}
{{- define "nats.auth" -}}
{{- include "agenttrace.natsAuthFor" (dict "user" .Values.user "secret" (include "agenttrace.store.secretName" .) "key" .Values.passwordKey "namespace" .Release.Namespace) -}}
{{- end -}}

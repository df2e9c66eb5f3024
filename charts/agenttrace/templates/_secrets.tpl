{{/*
What the chart knows about its secrets. Passwords and keys are either
generated once by the chart into "<release>-secrets" (secret.yaml) or come
from a Secret the operator manages (global.existingSecret, the stores'
existingSecret, the ExternalSecret). Either way the render checks what it can
see of them through lookup (validate.yaml), so a malformed Secret fails the
install with a message instead of crash-looping pods.
*/}}

{{/*
"true" when the services log in to NATS: nats.user is set and the Secret
holding nats.passwordKey has that key. The password is optional: a Secret
that the render can see and that lacks the key means NATS without
authorization (the NetworkPolicies still decide who reaches it). A Secret
the render cannot see (helm template, or not created yet) is assumed to
have it, as the generated one and the ExternalSecret do. Call with
(dict "user" .. "secret" .. "key" .. "namespace" ..); the umbrella and the
nats subchart both ask this one template.
*/}}
{{- define "agenttrace.natsAuthFor" -}}
{{- if .user -}}
{{- $s := lookup "v1" "Secret" .namespace .secret -}}
{{- if or (not $s) (hasKey ($s.data | default dict) .key) -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{- define "agenttrace.natsAuth" -}}
{{- include "agenttrace.natsAuthFor" (dict "user" .Values.nats.user "secret" (include "agenttrace.storeSecretName" (dict "root" . "store" "nats")) "key" .Values.nats.passwordKey "namespace" .Release.Namespace) -}}
{{- end -}}

{{/*
The shared Secret's keys that must be present, and the format of the
encryption key: 32 random bytes as base64 (openssl rand -base64 32) or hex
(openssl rand -hex 32), what AGENTTRACE_ENCRYPTION_KEY accepts.
*/}}
{{- define "agenttrace.validateSecrets" -}}
{{- $ns := .Release.Namespace -}}
{{- $shared := include "agenttrace.secretName" . -}}
{{- with lookup "v1" "Secret" $ns $shared -}}
{{- $d := .data | default dict -}}
{{- range $key := list "jwt-secret" "encryption-key" -}}
{{- if not (index $d $key) -}}
{{- fail (printf "Secret %s/%s has no %q (or it is empty): the shared Secret needs jwt-secret and encryption-key (charts/agenttrace/README.md, Secrets)" $ns $shared $key) -}}
{{- end -}}
{{- end -}}
{{- $ek := index $d "encryption-key" | b64dec | trim -}}
{{- if not (regexMatch "^([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$" $ek) -}}
{{- fail (printf "encryption-key in Secret %s/%s is not 32 bytes written as base64 or hex (it has %d characters; `openssl rand -hex 16` gives only 16 bytes): make it with `openssl rand -base64 32` or `openssl rand -hex 32`. If AgentTrace already stored secrets with the current key, keep it and rotate as charts/agenttrace/README.md says" $ns $shared (len $ek)) -}}
{{- end -}}
{{- end -}}
{{- range $store := list "postgres" "clickhouse" "redis" -}}
{{- $s := index $.Values $store -}}
{{- $name := include "agenttrace.storeSecretName" (dict "root" $ "store" $store) -}}
{{- with lookup "v1" "Secret" $ns $name -}}
{{- if not (hasKey (.data | default dict) $s.passwordKey) -}}
{{- fail (printf "Secret %s/%s has no %q, the %s password (%s.passwordKey); an empty value is allowed for a store without one" $ns $name $s.passwordKey $store $store) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
What the four store subcharts (charts/{postgres,clickhouse,redis,nats})
share, written once: Helm's named templates are global, so each subchart
calls these with its own context (.Chart.Name is the store's name).
*/}}

{{/* "<release>-<store>": the umbrella computes the same name to reach it (agenttrace.storeHost). */}}
{{- define "agenttrace.store.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agenttrace.store.selectorLabels" -}}
app: {{ .Chart.Name }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Chart.Name }}
{{- end -}}

{{/*
The pod template's labels: no chart or app version, so that a new chart
version does not restart the store (only a change of the store's own
settings does).
*/}}
{{- define "agenttrace.store.podLabels" -}}
{{ include "agenttrace.store.selectorLabels" . }}
app.kubernetes.io/part-of: agenttrace
{{- end -}}

{{- define "agenttrace.store.labels" -}}
{{ include "agenttrace.store.podLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret with the password: existingSecret, global.existingSecret or "<release>-secrets" (the umbrella's). */}}
{{- define "agenttrace.store.secretName" -}}
{{- .Values.existingSecret | default .Values.global.existingSecret | default (printf "%s-secrets" .Release.Name) -}}
{{- end -}}

{{- define "agenttrace.store.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- with .Values.global.imageRegistry }}{{ printf "%s/%s" (trimSuffix "/" .) $ref }}{{ else }}{{ $ref }}{{ end -}}
{{- end -}}

{{- define "agenttrace.store.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "agenttrace.store.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The pod spec's first lines, the same for every store. */}}
{{- define "agenttrace.store.podSpecHead" -}}
serviceAccountName: {{ include "agenttrace.store.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- include "agenttrace.imagePullSecrets" . }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The pod spec's scheduling fields. */}}
{{- define "agenttrace.store.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "agenttrace.store.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "agenttrace.store.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "agenttrace.store.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}
{{- end -}}

{{/* persistence.enabled, where a store has it (redis); the others always persist. */}}
{{- define "agenttrace.store.persistent" -}}
{{- if ne .Values.persistence.enabled false }}true{{ end -}}
{{- end -}}

{{/* The StatefulSet's volumeClaimTemplates ("data"), when the store persists. */}}
{{- define "agenttrace.store.volumeClaimTemplates" -}}
{{- if include "agenttrace.store.persistent" . -}}
volumeClaimTemplates:
  - metadata:
      name: data
      labels:
        {{- include "agenttrace.store.selectorLabels" . | nindent 8 }}
    spec:
      accessModes:
        {{- toYaml .Values.persistence.accessModes | nindent 8 }}
      {{- with .Values.persistence.storageClass }}
      storageClassName: {{ . }}
      {{- end }}
      resources:
        requests:
          storage: {{ .Values.persistence.size }}
{{- end -}}
{{- end -}}

{{/*
A StatefulSet's volumeClaimTemplates cannot change, and Kubernetes rejects
an upgrade that tries with a message that does not say what to do. When the
render can see the running StatefulSet, a changed size, storage class or
persistence switch fails here with the procedure instead.
*/}}
{{- define "agenttrace.store.checkVolumes" -}}
{{- $name := include "agenttrace.store.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $p := .Values.persistence -}}
{{- with lookup "apps/v1" "StatefulSet" $ns $name -}}
{{- $old := .spec.volumeClaimTemplates | default list -}}
{{- $guide := "charts/agenttrace/README.md, Store volumes" -}}
{{- $want := include "agenttrace.store.persistent" $ | default "false" -}}
{{- $had := ternary "true" "false" (gt (len $old) 0) -}}
{{- if ne $want $had -}}
{{- fail (printf "%s.persistence.enabled changed to %s, but StatefulSet %s/%s cannot change its volumes: delete it first (kubectl -n %s delete statefulset %s; its data volume, if any, stays until you delete the PVC) and upgrade again (%s)" $.Chart.Name $want $ns $name $ns $name $guide) -}}
{{- end -}}
{{- if $old -}}
{{- $spec := (index $old 0).spec -}}
{{- $size := toString $spec.resources.requests.storage -}}
{{- if ne $size (toString $p.size) -}}
{{- fail (printf "%s.persistence.size changed from %s to %v, but StatefulSet %s/%s cannot change its volume template. To grow the volume (its storage class must allow expansion): kubectl -n %s patch pvc data-%s-0 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"%v\"}}}}'; kubectl -n %s delete statefulset %s --cascade=orphan (the pod keeps running); then upgrade again (%s)" $.Chart.Name $size $p.size $ns $name $ns $name $p.size $ns $name $guide) -}}
{{- end -}}
{{- if and $p.storageClass (ne ($spec.storageClassName | default "" | toString) $p.storageClass) -}}
{{- fail (printf "%s.persistence.storageClass changed from %q to %q, but StatefulSet %s/%s cannot change its volume template: moving a store to another storage class means copying its data (%s)" $.Chart.Name ($spec.storageClassName | default "" | toString) $p.storageClass $ns $name $guide) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

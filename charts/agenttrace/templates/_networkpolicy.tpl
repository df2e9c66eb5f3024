{{/* Peers and rules shared by the NetworkPolicies (networkpolicy.yaml). */}}
{{/* A peer that is one of the release's components (services, jobs). */}}
{{- define "agenttrace.np.component" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/instance: {{ .root.Release.Name }}
      app.kubernetes.io/component: {{ .component }}
{{- end -}}
{{/* Egress to a store: the subchart's pods, or the configured CIDRs (any address) when external. */}}
{{- define "agenttrace.np.storeEgress" -}}
{{- $s := index .root.Values .store -}}
- to:
  {{- if $s.deploy }}
    - podSelector:
        matchLabels:
          app: {{ .store }}
          app.kubernetes.io/instance: {{ .root.Release.Name }}
  {{- else if .root.Values.networkPolicy.externalEgress.cidrs }}
    {{- range .root.Values.networkPolicy.externalEgress.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- else }}
    - ipBlock:
        cidr: 0.0.0.0/0
    - ipBlock:
        cidr: ::/0
  {{- end }}
  ports:
    - port: {{ $s.port }}
      protocol: TCP
{{- end -}}
{{- define "agenttrace.np.grpcEgress" -}}
- to:
    {{- include "agenttrace.np.component" . | nindent 4 }}
  ports:
    - port: {{ index (include "agenttrace.ports" . | fromYaml) "grpc" }}
      protocol: TCP
{{- end -}}
{{- define "agenttrace.np.prometheus" -}}
- from:
    - namespaceSelector:
        {{- toYaml .Values.networkPolicy.prometheus.namespaceSelector | nindent 8 }}
      podSelector:
        {{- toYaml .Values.networkPolicy.prometheus.podSelector | nindent 8 }}
{{- end -}}

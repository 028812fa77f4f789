apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "prometheus.server.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "prometheus.labels" . | nindent 4 }}
data:
  {{- range $key, $value := .Values.serverFiles }}
  {{ $key }}: |
    {{- toYaml $value | nindent 4 }}
  {{- end }}

{{- define "prometheus.server.fullname" -}}
{{ .Release.Name }}-{{ .Values.server.name }}
{{- end -}}

{{- define "prometheus.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/component: {{ .Values.server.name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "prometheus.probe" -}}
httpGet:
  path: {{ .root.Values.server.prefixURL }}{{ .path }}
  port: 9090
  scheme: {{ .root.Values.server.probeScheme }}
  {{- with .root.Values.server.probeHeaders }}
  httpHeaders:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

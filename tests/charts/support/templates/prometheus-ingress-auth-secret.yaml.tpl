{{- if .Values.prometheusIngressAuthSecret.enabled }}
{{- $lines := list }}
{{- range .Values.prometheusIngressAuthSecret.users }}
{{- $lines = append $lines (htpasswd .username .password) }}
{{- end }}
apiVersion: v1
kind: Secret
metadata:
  name: prometheus-ingress-auth-basic
  labels:
    {{- include "support.labels" . | nindent 4 }}
type: Opaque
data:
  auth: {{ printf "%s\n" (join "\n" $lines) | b64enc | quote }}
{{- end }}

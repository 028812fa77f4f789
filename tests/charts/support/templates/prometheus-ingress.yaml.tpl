apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: prometheus
  labels:
    {{- include "support.labels" . | nindent 4 }}
  {{- if .Values.prometheusIngressAuthSecret.enabled }}
  annotations:
    nginx.ingress.kubernetes.io/auth-type: basic
    nginx.ingress.kubernetes.io/auth-secret: prometheus-ingress-auth-basic
    nginx.ingress.kubernetes.io/auth-realm: Prometheus
  {{- end }}
spec:
  ingressClassName: {{ .Values.prometheusIngress.className }}
  rules:
    - host: {{ .Values.prometheusIngress.host }}
      http:
        paths:
          - path: {{ .Values.prometheusIngress.path }}
            pathType: Prefix
            backend:
              service:
                name: {{ .Values.prometheusIngress.service.name }}
                port:
                  number: {{ .Values.prometheusIngress.service.port }}

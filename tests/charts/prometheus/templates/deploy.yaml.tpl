apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "prometheus.server.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "prometheus.labels" . | nindent 4 }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        {{- include "prometheus.labels" . | nindent 8 }}
    spec:
      containers:
        - name: prometheus-server
          image: "{{ .Values.server.image.repository }}:{{ .Values.server.image.tag | default .Chart.AppVersion }}"
          args:
            - --config.file={{ .Values.server.configPath }}
            - --storage.tsdb.path={{ .Values.server.storagePath }}
            {{- range $key, $value := .Values.server.extraArgs }}
            {{- if $value }}
            - --{{ $key }}={{ $value }}
            {{- else }}
            - --{{ $key }}
            {{- end }}
            {{- end }}
            {{- with .Values.server.prefixURL }}
            - --web.route-prefix={{ . }}
            {{- end }}
            {{- with .Values.server.baseURL }}
            - --web.external-url={{ . }}
            {{- end }}
          ports:
            - containerPort: 9090
          readinessProbe:
            {{- include "prometheus.probe" (dict "root" . "path" "/-/ready") | nindent 12 }}
          livenessProbe:
            {{- include "prometheus.probe" (dict "root" . "path" "/-/healthy") | nindent 12 }}
          startupProbe:
            {{- include "prometheus.probe" (dict "root" . "path" "/-/healthy") | nindent 12 }}
          volumeMounts:
            - name: config-volume
              mountPath: /etc/config
      volumes:
        - name: config-volume
          configMap:
            name: {{ include "prometheus.server.fullname" . }}

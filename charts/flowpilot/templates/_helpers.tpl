{{/* Chart name, truncated to 63 characters. */}}
{{- define "flowpilot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release plus chart name unless the release already contains it. */}}
{{- define "flowpilot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flowpilot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: name and instance only, because selectors are immutable. */}}
{{- define "flowpilot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowpilot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "flowpilot.labels" -}}
helm.sh/chart: {{ include "flowpilot.chart" . }}
{{ include "flowpilot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flowpilot
{{- end }}

{{- define "flowpilot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flowpilot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "flowpilot.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The lease name the agents elect their leader with. */}}
{{- define "flowpilot.leaseName" -}}
{{- printf "%s-agent-leader" (include "flowpilot.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of the ConfigMap that holds rule files: the user's existing one, or ours. */}}
{{- define "flowpilot.rulesConfigMap" -}}
{{- if .Values.rules.existingConfigMap }}
{{- .Values.rules.existingConfigMap }}
{{- else }}
{{- printf "%s-rules" (include "flowpilot.fullname" .) }}
{{- end }}
{{- end }}

{{/* The Flink REST URL the agent talks to, by mode. */}}
{{- define "flowpilot.flinkUrl" -}}
{{- if eq .Values.mode "engine" }}
{{- printf "%s://127.0.0.1:%d" (ternary "https" "http" .Values.engine.rest.tls.enabled) (int .Values.engine.jobmanager.restPort) }}
{{- else if eq .Values.mode "operator-sidecar" }}
{{- /* Native Kubernetes mode names the REST Service <cluster-id>-rest; the cluster id is the FlinkDeployment's name. */}}
{{- printf "http://%s-rest.%s.svc:8081" (include "flowpilot.fullname" .) .Release.Namespace }}
{{- else if .Values.agentOnly.flinkRestUrl }}
{{- .Values.agentOnly.flinkRestUrl }}
{{- else }}
{{- printf "http://%s-rest.%s.svc:8081" .Values.agentOnly.flinkDeployment.name .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Container security context shared by every container we run. */}}
{{- define "flowpilot.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end }}

{{/* The agent's config file (see docs/agent.md); flags in the container args refer to it. */}}
{{- define "flowpilot.agentConfig" -}}
flinkUrl: {{ include "flowpilot.flinkUrl" . | quote }}
listen:
  host: 0.0.0.0
  port: {{ .Values.agent.port }}
scrapeInterval: {{ .Values.agent.scrapeInterval }}
evaluationInterval: {{ .Values.agent.evaluationInterval }}
retention: {{ .Values.agent.retention }}
ruleFiles:
  - /etc/flowpilot/rules/*.yml
{{- with .Values.agent.alertmanagers }}
alertmanagers:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.agent.webhooks }}
webhooks:
  {{- toYaml . | nindent 2 }}
{{- end }}
dryRun: {{ .Values.agent.dryRun }}
policyFile: /etc/flowpilot/agent/policy.yaml
journal:
  configMap: {{ include "flowpilot.fullname" . }}-journal
  namespace: {{ .Release.Namespace }}
actuation:
  mode: {{ include "flowpilot.actuationMode" . }}
  {{- if eq .Values.mode "engine" }}
  taskManagerDeployment: {{ include "flowpilot.fullname" . }}-taskmanager
  {{- end }}
  {{- if eq .Values.mode "operator-sidecar" }}
  flinkDeployment: {{ include "flowpilot.fullname" . }}
  {{- else if .Values.agentOnly.flinkDeployment.name }}
  flinkDeployment: {{ .Values.agentOnly.flinkDeployment.name }}
  {{- end }}
  namespace: {{ .Release.Namespace }}
{{- if and (eq .Values.mode "agent-only") .Values.agentOnly.leaderElection.enabled }}
leaderElection:
  lease: {{ include "flowpilot.leaseName" . }}
  namespace: {{ .Release.Namespace }}
  leaseDurationSeconds: {{ .Values.agentOnly.leaderElection.leaseDurationSeconds }}
{{- end }}
{{- end }}

{{- define "flowpilot.actuationMode" -}}
{{- if .Values.agent.dryRun }}dry-run
{{- else if .Values.agent.actuation }}{{ .Values.agent.actuation }}
{{- else if eq .Values.mode "engine" }}in-place
{{- else if or (eq .Values.mode "operator-sidecar") .Values.agentOnly.flinkDeployment.name }}flink-deployment
{{- else }}savepoint
{{- end }}
{{- end }}

{{/* The agent container, shared by the sidecar (engine, operator-sidecar) and agent-only modes. */}}
{{- define "flowpilot.agentContainer" -}}
- name: agent
  image: {{ include "flowpilot.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - agent
    - --config
    - /etc/flowpilot/agent/agent.yaml
    {{- with .Values.agent.extraArgs }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
  ports:
    - name: agent-http
      containerPort: {{ .Values.agent.port }}
      protocol: TCP
  livenessProbe:
    httpGet:
      path: /healthz
      port: agent-http
    periodSeconds: 10
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /readyz
      port: agent-http
    periodSeconds: 5
  resources:
    {{- toYaml .Values.agent.resources | nindent 4 }}
  securityContext:
    {{- include "flowpilot.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: agent-config
      mountPath: /etc/flowpilot/agent
      readOnly: true
    - name: rules
      mountPath: /etc/flowpilot/rules
      readOnly: true
    - name: tmp
      mountPath: /tmp
{{- end }}

{{- define "flowpilot.agentVolumes" -}}
- name: agent-config
  configMap:
    name: {{ include "flowpilot.fullname" . }}-agent
- name: rules
  configMap:
    name: {{ include "flowpilot.rulesConfigMap" . }}
- name: tmp
  emptyDir: {}
{{- end }}

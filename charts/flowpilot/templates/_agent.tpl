{{/* The agent's config file (see docs/reference/agent.md); flags in the container args refer to it. */}}
{{- define "flowpilot.agentConfig" -}}
listen:
  host: 0.0.0.0
  port: {{ .Values.agent.port }}
flink:
  {{- if eq .Values.mode "fleet" }}
  # fleet mode: each job's endpoint comes from discovery (its <name>-rest Service)
  urls: []
  {{- else }}
  urls: [{{ include "flowpilot.flinkUrl" . | quote }}]
  {{- end }}
  {{- with .Values.agent.flinkHttpConfig }}
  httpConfig: {{ toJson . }}
  {{- end }}
scrape:
  interval: {{ .Values.agent.scrapeInterval }}
rules:
  files: [/etc/flowpilot/rules]
  evaluationInterval: {{ .Values.agent.evaluationInterval }}
alerting:
  alertmanagers: {{ toJson .Values.agent.alertmanagers }}
  webhooks: {{ toJson .Values.agent.webhooks }}
  {{- with .Values.agent.alertmanagerHttpConfig }}
  httpConfig: {{ toJson . }}
  {{- end }}
  {{- with .Values.agent.webhookHttpConfig }}
  webhookHttpConfig: {{ toJson . }}
  {{- end }}
storage:
  retention: {{ .Values.agent.retention }}
scaling:
  policyFile: /etc/flowpilot/agent/policy.yaml
dryRun: {{ .Values.agent.dryRun }}
{{- if eq .Values.mode "fleet" }}
# Fleet mode: each pod is one replica, its identity the POD_NAME the Deployment sets.
fleet:
  enabled: true
  name: {{ include "flowpilot.fullname" . | trunc 40 | trimSuffix "-" }}
  namespaces: {{ toJson .Values.fleet.namespaces }}
  leaseDuration: {{ printf "%ds" (int .Values.fleet.leaseDurationSeconds) }}
{{- end }}
actuation:
  mode: {{ include "flowpilot.actuationMode" . }}
  {{- if ne .Values.mode "fleet" }}
  flinkRestUrl: {{ include "flowpilot.flinkUrl" . | quote }}
  {{- end }}
  journal:
    kind: configmap
    configMapName: {{ include "flowpilot.fullname" . }}-journal
  kubernetes:
    enabled: true
    connection: in-cluster
    namespace: {{ .Release.Namespace }}
  leaderElection:
    enabled: {{ and (eq .Values.mode "agent-only") .Values.agentOnly.leaderElection.enabled }}
    leaseName: {{ include "flowpilot.leaseName" . }}
    leaseDuration: {{ printf "%ds" (int .Values.agentOnly.leaderElection.leaseDurationSeconds) }}
  defaults:
    {{- if eq .Values.mode "engine" }}
    taskManagerWorkload:
      kind: Deployment
      name: {{ include "flowpilot.fullname" . }}-taskmanager
      namespace: {{ .Release.Namespace }}
      slotsPerTaskManager: {{ .Values.engine.taskmanager.slots }}
    {{- else if eq .Values.mode "operator-sidecar" }}
    flinkDeployment:
      name: {{ include "flowpilot.fullname" . }}
      namespace: {{ .Release.Namespace }}
    {{- else if and (eq .Values.mode "agent-only") .Values.agentOnly.flinkDeployment.name }}
    flinkDeployment:
      name: {{ .Values.agentOnly.flinkDeployment.name }}
      namespace: {{ .Release.Namespace }}
    {{- else }}
    {}
    {{- end }}
{{- end }}

{{- define "flowpilot.actuationMode" -}}
{{- if .Values.agent.dryRun }}dry-run
{{- else if .Values.agent.actuation }}{{ .Values.agent.actuation }}
{{- else if eq .Values.mode "engine" }}in-place
{{- else if or (eq .Values.mode "operator-sidecar") (eq .Values.mode "fleet") .Values.agentOnly.flinkDeployment.name }}flink-deployment
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
    {{- include "flowpilot.agentAccessArgs" . | nindent 4 }}
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
    {{- include "flowpilot.agentProbe" (dict "Values" .Values "Release" .Release "Chart" .Chart "path" "/healthz") | nindent 4 }}
    periodSeconds: 10
    failureThreshold: 3
  readinessProbe:
    {{- include "flowpilot.agentProbe" (dict "Values" .Values "Release" .Release "Chart" .Chart "path" "/readyz") | nindent 4 }}
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
    {{- include "flowpilot.agentAccessMounts" . | nindent 4 }}
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
{{- include "flowpilot.agentAccessVolumes" . }}
{{- end }}

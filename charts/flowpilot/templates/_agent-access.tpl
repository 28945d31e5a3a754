{{/*
Access control of the agent (docs/guide/access-control.md): the web config (TLS, client certificates,
basic auth) and its Secrets, the lifecycle flag, and the Secrets the agent's clients read their
certificates, tokens and passwords from (Prometheus http_config *_file paths).
*/}}

{{/* "true" when the agent serves behind a web config. */}}
{{- define "flowpilot.agentWebEnabled" -}}
{{- $w := .Values.agent.web -}}
{{- if and $w.config $w.existingSecret }}
{{- fail "set agent.web.config or agent.web.existingSecret, not both" }}
{{- end }}
{{- if or $w.config $w.existingSecret }}true{{ end }}
{{- end }}

{{- define "flowpilot.agentWebSecretName" -}}
{{- .Values.agent.web.existingSecret | default (printf "%s-web" (include "flowpilot.fullname" .)) }}
{{- end }}

{{/* Container args added to the agent's. */}}
{{- define "flowpilot.agentAccessArgs" -}}
{{- if include "flowpilot.agentWebEnabled" . }}
- --web.config.file
- /etc/flowpilot/web/{{ .Values.agent.web.secretKey }}
{{- end }}
{{- if .Values.agent.web.enableLifecycle }}
- --web.enable-lifecycle
{{- end }}
{{- end }}

{{/*
A probe of the agent. Behind a web config, kubelet cannot present a client certificate or a
password, so the probe checks the port is accepting connections (tcpSocket) instead.
*/}}
{{- define "flowpilot.agentProbe" -}}
{{- if include "flowpilot.agentWebEnabled" . }}
tcpSocket:
  port: agent-http
{{- else }}
httpGet:
  path: {{ .path }}
  port: agent-http
{{- end }}
{{- end }}

{{- define "flowpilot.agentAccessMounts" -}}
{{- if include "flowpilot.agentWebEnabled" . }}
- name: agent-web
  mountPath: /etc/flowpilot/web
  readOnly: true
{{- end }}
{{- with .Values.agent.web.tlsSecret }}
- name: agent-web-tls
  mountPath: /etc/flowpilot/web-tls
  readOnly: true
{{- end }}
{{- range .Values.agent.clientSecrets }}
- name: client-{{ .name }}
  mountPath: /etc/flowpilot/secrets/{{ .name }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "flowpilot.agentAccessVolumes" -}}
{{- if include "flowpilot.agentWebEnabled" . }}
- name: agent-web
  secret:
    secretName: {{ include "flowpilot.agentWebSecretName" . }}
{{- end }}
{{- with .Values.agent.web.tlsSecret }}
- name: agent-web-tls
  secret:
    secretName: {{ . }}
{{- end }}
{{- range .Values.agent.clientSecrets }}
- name: client-{{ .name }}
  secret:
    secretName: {{ .secretName }}
{{- end }}
{{- end }}

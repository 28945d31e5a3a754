{{/*
The engine's REST access control and TLS (docs/reference/engine-rest.md "Access control and TLS"):
Flink's web.*.enable switches, rest.bind-address and security.ssl.rest.* as JobManager
--define arguments, the certificate Secret's volume, and its name.
*/}}

{{/* "true"/"false" for an engine.rest switch: "auto" is on only when the agent's savepoint actuation needs it. */}}
{{- define "flowpilot.restSwitch" -}}
{{- $v := index .root.Values.engine.rest .name -}}
{{- if eq (toString $v) "auto" -}}
{{- and .root.Values.agent.enabled (eq (include "flowpilot.actuationMode" .root) "savepoint") -}}
{{- else -}}
{{- $v -}}
{{- end -}}
{{- end }}

{{- define "flowpilot.restTlsSecret" -}}
{{- .Values.engine.rest.tls.existingSecret | default (printf "%s-rest-tls" (include "flowpilot.fullname" .)) -}}
{{- end }}

{{- define "flowpilot.restTlsDir" -}}/etc/flowpilot/rest-tls{{- end }}

{{/* JobManager arguments (a YAML list, no leading dash indentation). */}}
{{- define "flowpilot.engineRestArgs" -}}
{{- $rest := .Values.engine.rest }}
- --define
- {{ printf "web.submit.enable=%s" (include "flowpilot.restSwitch" (dict "root" . "name" "submit")) | quote }}
- --define
- {{ printf "web.cancel.enable=%s" (include "flowpilot.restSwitch" (dict "root" . "name" "cancel")) | quote }}
- --define
- {{ printf "web.rescale.enable=%t" $rest.rescale | quote }}
- --define
- {{ printf "rest.bind-address=%s" $rest.bindAddress | quote }}
{{- if $rest.tls.enabled }}
{{- $dir := include "flowpilot.restTlsDir" . }}
- --define
- "security.ssl.rest.enabled=true"
- --define
- {{ printf "security.ssl.rest.keystore=%s/tls.key,%s/tls.crt" $dir $dir | quote }}
{{- if $rest.tls.mutual }}
- --define
- "security.ssl.rest.authentication-enabled=true"
- --define
- {{ printf "security.ssl.rest.truststore=%s/ca.crt" $dir | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flowpilot.engineRestVolumeMounts" -}}
{{- if .Values.engine.rest.tls.enabled }}
- name: rest-tls
  mountPath: {{ include "flowpilot.restTlsDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "flowpilot.engineRestVolumes" -}}
{{- if .Values.engine.rest.tls.enabled }}
- name: rest-tls
  secret:
    secretName: {{ include "flowpilot.restTlsSecret" . }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{/* Fails at template time on a TLS setup that cannot work, naming the value to change. */}}
{{- define "flowpilot.engineRestCheck" -}}
{{- $tls := .Values.engine.rest.tls }}
{{- if $tls.enabled }}
{{- if and (not $tls.existingSecret) (or (not $tls.certificate) (not $tls.key)) }}
{{- fail "engine.rest.tls.enabled needs engine.rest.tls.existingSecret (a kubernetes.io/tls Secret) or engine.rest.tls.certificate and engine.rest.tls.key" }}
{{- end }}
{{- if and $tls.mutual (not $tls.existingSecret) (not $tls.ca) }}
{{- fail "engine.rest.tls.mutual needs the client CA: engine.rest.tls.ca, or ca.crt in engine.rest.tls.existingSecret" }}
{{- end }}
{{- if and .Values.agent.enabled (not .Values.agent.flinkHttpConfig.tls_config) }}
{{- fail "engine.rest.tls.enabled: the agent sidecar reaches REST over TLS only with agent.flinkHttpConfig.tls_config (ca_file, server_name matching the certificate, and cert_file/key_file for engine.rest.tls.mutual) and the Secret in agent.clientSecrets; see docs/guide/access-control.md" }}
{{- end }}
{{- end }}
{{- end }}

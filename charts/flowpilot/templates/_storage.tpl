{{/* The volume holding checkpoints and savepoints: a PVC shared by the JobManager and TaskManagers, or an emptyDir. */}}
{{- define "flowpilot.stateVolume" -}}
- name: state
{{- if eq .Values.engine.storage.type "pvc" }}
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-state" (include "flowpilot.fullname" .)) .Values.engine.storage.existingClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}

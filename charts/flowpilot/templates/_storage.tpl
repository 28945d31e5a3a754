{{/*
The volume holding checkpoints, savepoints and the HA store's files: a PVC shared by the JobManager
and the TaskManagers (every TaskManager writes its subtasks' state files into the checkpoint
directory the JobManager names, as in Flink, so the volume must be reachable from every pod:
ReadWriteMany, or ReadWriteOnce when all pods run on one node), or an emptyDir, which each pod has
on its own and which is lost with the pod.
*/}}
{{- define "flowpilot.stateVolume" -}}
- name: state
{{- if eq .Values.engine.storage.type "pvc" }}
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-state" (include "flowpilot.fullname" .)) .Values.engine.storage.existingClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}

{{/* The chart name (nameOverride wins). */}}
{{- define "selfheal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's resources. */}}
{{- define "selfheal.fullname" -}}
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

{{/* chart label value: name-version */}}
{{- define "selfheal.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The standard labels. */}}
{{- define "selfheal.labels" -}}
helm.sh/chart: {{ include "selfheal.chart" . }}
{{ include "selfheal.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: selfheal
{{- end }}

{{/* Labels that select the controller's pods. */}}
{{- define "selfheal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "selfheal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount's name. */}}
{{- define "selfheal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "selfheal.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Leader election: explicit value, else on when replicas > 1. */}}
{{- define "selfheal.leaderElect" -}}
{{- if kindIs "bool" .Values.leaderElection }}
{{- .Values.leaderElection }}
{{- else }}
{{- gt (int .Values.replicas) 1 }}
{{- end }}
{{- end }}

{{/* The folders spec paths are confined to (--allow-path): allowPaths, else
every extraVolumeMounts mountPath, else the state folder (always confined). */}}
{{- define "selfheal.allowPaths" -}}
{{- $paths := .Values.allowPaths | default list }}
{{- if not $paths }}
{{- range .Values.extraVolumeMounts }}
{{- $paths = append $paths .mountPath }}
{{- end }}
{{- end }}
{{- if not $paths }}
{{- $paths = list "/var/lib/selfheal" }}
{{- end }}
{{- toYaml $paths }}
{{- end }}

{{/* The RBAC rules: exactly manifests/rbac.yaml's. */}}
{{- define "selfheal.rules" -}}
- apiGroups: ["selfheal.dev"]
  resources: ["selfhealingpipelines"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["selfheal.dev"]
  resources: ["selfhealingpipelines/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "patch"]
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["list"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "create", "delete"]
- apiGroups: ["authentication.k8s.io"]
  resources: ["tokenreviews"]
  verbs: ["create"]
- apiGroups: ["authorization.k8s.io"]
  resources: ["subjectaccessreviews"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}

{{/* The chart name, or nameOverride. */}}
{{- define "isc-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Name of every object: fullnameOverride, else the release name when it already contains the
chart name (`helm install isc-operator ...` gives "isc-operator"), else "<release>-<chart>".
*/}}
{{- define "isc-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "isc-operator.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "isc-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "isc-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object: the recommended ones plus extraLabels. */}}
{{- define "isc-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "isc-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "isc-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "isc-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator's image reference; the tag defaults to the chart's appVersion. */}}
{{- define "isc-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Service serving /metrics exists when asked for or when a ServiceMonitor needs it. */}}
{{- define "isc-operator.metricsService" -}}
{{- if or .Values.metricsService.enabled .Values.serviceMonitor.enabled }}true{{ end }}
{{- end }}

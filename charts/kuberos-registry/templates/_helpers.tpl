{{/* The name of every object: the release name, with the chart name unless it holds it. */}}
{{- define "kuberos-registry.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 53 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 53 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kuberos-registry.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "kuberos-registry.labels" -}}
{{ include "kuberos-registry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kuberos-registry
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Service in front of the webhook, also the name in its serving certificate. */}}
{{- define "kuberos-registry.serviceName" -}}
{{- printf "%s-webhook" (include "kuberos-registry.fullname" .) -}}
{{- end -}}

{{/* The Secret holding the serving certificate. */}}
{{- define "kuberos-registry.tlsSecretName" -}}
{{- if .Values.tls.certManager.enabled -}}
{{- printf "%s-serving-cert" (include "kuberos-registry.fullname" .) -}}
{{- else -}}
{{- required "tls.existingSecret is required when tls.certManager.enabled is false" .Values.tls.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "kuberos-registry.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

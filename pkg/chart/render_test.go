package chart

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kuberos-io/kuberos-registry/pkg/registry"
	"github.com/kuberos-io/kuberos-registry/pkg/server"
)

// objects renders the chart and returns its objects by kind and name.
func objects(t *testing.T, values map[string]any) map[string]map[string]any {
	t.Helper()
	rendered, err := Render(values, ReleaseName, ReleaseNamespace)
	require.NoError(t, err)
	out := map[string]map[string]any{}
	for file, text := range rendered {
		for _, doc := range strings.Split(text, "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			obj := map[string]any{}
			require.NoError(t, yaml.Unmarshal([]byte(doc), &obj), "%s:\n%s", file, doc)
			if len(obj) == 0 {
				continue
			}
			meta, _ := obj["metadata"].(map[string]any)
			out[obj["kind"].(string)+"/"+meta["name"].(string)] = obj
		}
	}
	return out
}

// decode converts a rendered object into a typed one.
func decode[T any](t *testing.T, obj map[string]any) *T {
	t.Helper()
	require.NotNil(t, obj)
	data, err := yaml.Marshal(obj)
	require.NoError(t, err)
	out := new(T)
	require.NoError(t, yaml.UnmarshalStrict(data, out))
	return out
}

const (
	deploymentKey = "Deployment/kuberos-registry"
	webhookKey    = "MutatingWebhookConfiguration/kuberos-registry"
	configMapKey  = "ConfigMap/kuberos-registry-registries"
)

func TestRenderDefaults(t *testing.T) {
	objs := objects(t, nil)

	t.Run("the Deployment runs two hardened replicas with probes", func(t *testing.T) {
		d := decode[appsv1.Deployment](t, objs[deploymentKey])
		require.NotNil(t, d.Spec.Replicas)
		assert.Equal(t, int32(2), *d.Spec.Replicas)
		pod := d.Spec.Template.Spec
		require.NotNil(t, pod.SecurityContext.RunAsNonRoot)
		assert.True(t, *pod.SecurityContext.RunAsNonRoot)
		assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault,
			pod.SecurityContext.SeccompProfile.Type)
		assert.Len(t, pod.TopologySpreadConstraints, 1)
		c := pod.Containers[0]
		assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
		assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
		assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
		assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
		assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
		assert.False(t, c.Resources.Requests.Memory().IsZero())
		assert.Contains(t, c.Args, "--token-namespace="+ReleaseNamespace)
		assert.Contains(t, c.Args, "--on-missing-secret=Warn")
		assert.Contains(t, c.Args, "--leader-elect=true")
		assert.Equal(t, "ghcr.io/kuberos-io/kuberos-registry-webhook:0.1.0", c.Image)
	})

	t.Run("the webhook configuration is the one the code registers", func(t *testing.T) {
		got := decode[admissionregistrationv1.MutatingWebhookConfiguration](t, objs[webhookKey])
		want := server.MutatingWebhookConfiguration(server.DefaultConfigurationName,
			ReleaseNamespace, "kuberos-registry-webhook")
		require.Len(t, got.Webhooks, 1)
		g, w := got.Webhooks[0], want.Webhooks[0]
		assert.Equal(t, w.Name, g.Name)
		assert.Equal(t, w.Rules, g.Rules)
		assert.Equal(t, w.NamespaceSelector, g.NamespaceSelector)
		assert.Equal(t, *w.SideEffects, *g.SideEffects)
		assert.Equal(t, *w.ReinvocationPolicy, *g.ReinvocationPolicy)
		assert.Equal(t, *w.MatchPolicy, *g.MatchPolicy)
		assert.Equal(t, *w.TimeoutSeconds, *g.TimeoutSeconds)
		assert.Equal(t, *w.FailurePolicy, *g.FailurePolicy)
		assert.Equal(t, w.ClientConfig.Service.Name, g.ClientConfig.Service.Name)
		assert.Equal(t, *w.ClientConfig.Service.Path, *g.ClientConfig.Service.Path)
		assert.Equal(t, ReleaseNamespace+"/kuberos-registry-serving",
			got.Annotations["cert-manager.io/inject-ca-from"])
	})

	t.Run("cert-manager issues the serving certificate from a chart CA", func(t *testing.T) {
		for _, key := range []string{
			"Issuer/kuberos-registry-selfsigned", "Certificate/kuberos-registry-ca",
			"Issuer/kuberos-registry-ca", "Certificate/kuberos-registry-serving",
		} {
			assert.Contains(t, objs, key)
		}
		serving := objs["Certificate/kuberos-registry-serving"]["spec"].(map[string]any)
		assert.Contains(t, serving["dnsNames"],
			"kuberos-registry-webhook."+ReleaseNamespace+".svc")
	})

	t.Run("the cluster-wide registry list is empty", func(t *testing.T) {
		cm := decode[corev1.ConfigMap](t, objs[configMapKey])
		config, err := registry.ParseConfig([]byte(cm.Data["registries.yaml"]))
		require.NoError(t, err)
		assert.Empty(t, config.Registries)
	})

	t.Run("a PodDisruptionBudget is made and no ServiceMonitor", func(t *testing.T) {
		assert.Contains(t, objs, "PodDisruptionBudget/kuberos-registry")
		assert.NotContains(t, objs, "ServiceMonitor/kuberos-registry")
	})
}

func TestRenderValues(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]any
		check  func(t *testing.T, objs map[string]map[string]any)
	}{{
		name: "a registries list lands in the ConfigMap as --config reads it",
		values: map[string]any{"registries": []any{map[string]any{
			"name": "default", "imagePullSecretName": "lab-token", "imagePullPolicy": "Never",
		}}},
		check: func(t *testing.T, objs map[string]map[string]any) {
			cm := decode[corev1.ConfigMap](t, objs[configMapKey])
			config, err := registry.ParseConfig([]byte(cm.Data["registries.yaml"]))
			require.NoError(t, err)
			assert.Equal(t, []registry.Entry{{Name: "default",
				ImagePullSecretName: "lab-token", ImagePullPolicy: corev1.PullNever}},
				config.Registries)
		},
	}, {
		name:   "Deny reaches the webhook's flag",
		values: map[string]any{"onMissingSecret": "Deny"},
		check: func(t *testing.T, objs map[string]map[string]any) {
			d := decode[appsv1.Deployment](t, objs[deploymentKey])
			assert.Contains(t, d.Spec.Template.Spec.Containers[0].Args, "--on-missing-secret=Deny")
		},
	}, {
		name: "without cert-manager a user-provided Secret and CA bundle are used",
		values: map[string]any{"tls": map[string]any{ //nolint:gosec // names, not credentials
			"certManager":    map[string]any{"enabled": false},
			"existingSecret": "my-webhook-tls", "caBundle": "Y2E=",
		}},
		check: func(t *testing.T, objs map[string]map[string]any) {
			assert.NotContains(t, objs, "Certificate/kuberos-registry-serving")
			assert.NotContains(t, objs, "Issuer/kuberos-registry-ca")
			hook := decode[admissionregistrationv1.MutatingWebhookConfiguration](t,
				objs[webhookKey])
			assert.Equal(t, []byte("ca"), hook.Webhooks[0].ClientConfig.CABundle)
			assert.NotContains(t, hook.Annotations, "cert-manager.io/inject-ca-from")
			d := decode[appsv1.Deployment](t, objs[deploymentKey])
			assert.Equal(t, "my-webhook-tls",
				d.Spec.Template.Spec.Volumes[0].Secret.SecretName)
		},
	}, {
		name: "the ServiceMonitor is made when asked for",
		values: map[string]any{"metrics": map[string]any{
			"serviceMonitor": map[string]any{"enabled": true},
		}},
		check: func(t *testing.T, objs map[string]map[string]any) {
			assert.Contains(t, objs, "ServiceMonitor/kuberos-registry")
		},
	}, {
		name: "replicas, failure policy and timeout follow the values",
		values: map[string]any{"replicaCount": 3, "webhook": map[string]any{
			"failurePolicy": "Ignore", "timeoutSeconds": 5,
		}, "podDisruptionBudget": map[string]any{"enabled": false}},
		check: func(t *testing.T, objs map[string]map[string]any) {
			d := decode[appsv1.Deployment](t, objs[deploymentKey])
			assert.Equal(t, int32(3), *d.Spec.Replicas)
			hook := decode[admissionregistrationv1.MutatingWebhookConfiguration](t,
				objs[webhookKey])
			assert.Equal(t, admissionregistrationv1.Ignore, *hook.Webhooks[0].FailurePolicy)
			assert.Equal(t, int32(5), *hook.Webhooks[0].TimeoutSeconds)
			assert.NotContains(t, objs, "PodDisruptionBudget/kuberos-registry")
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, objects(t, tc.values)) })
	}
}

func TestSchemaRejectsWrongValues(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"an unknown onMissingSecret is refused", map[string]any{"onMissingSecret": "Maybe"},
			"onMissingSecret"},
		{"zero replicas are refused", map[string]any{"replicaCount": 0}, "replicaCount"},
		{"an unknown key is refused", map[string]any{"replicas": 2}, "replicas"},
		{"a registry without imagePullSecretName is refused", map[string]any{
			"registries": []any{map[string]any{"name": "default"}}}, "imagePullSecretName"},
		{"a bad pull policy is refused", map[string]any{"registries": []any{map[string]any{
			"name": "d", "imagePullSecretName": "t", "imagePullPolicy": "Sometimes"}}},
			"imagePullPolicy"},
		{"a bad failure policy is refused", map[string]any{
			"webhook": map[string]any{"failurePolicy": "Never"}}, "failurePolicy"},
		{"a timeout above the API server's limit is refused", map[string]any{
			"webhook": map[string]any{"timeoutSeconds": 31}}, "timeoutSeconds"},
		{"an unknown log level is refused", map[string]any{"logLevel": "loud"}, "logLevel"},
		{"a Secret name that is not a DNS name is refused", map[string]any{
			"registries": []any{map[string]any{"name": "d", "imagePullSecretName": "Bad_Name"}}},
			"imagePullSecretName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.values, ReleaseName, ReleaseNamespace)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	t.Run("without cert-manager a missing Secret is refused", func(t *testing.T) {
		_, err := Render(map[string]any{"tls": map[string]any{
			"certManager": map[string]any{"enabled": false}, "caBundle": "Y2E="}},
			ReleaseName, ReleaseNamespace)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls.existingSecret is required")
	})

	t.Run("without cert-manager a missing CA bundle is refused", func(t *testing.T) {
		_, err := Render(map[string]any{"tls": map[string]any{
			"certManager": map[string]any{"enabled": false}, "existingSecret": "tls"}},
			ReleaseName, ReleaseNamespace)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls.caBundle is required")
	})
}

func TestLint(t *testing.T) {
	t.Run("helm lint finds no warning and no error", func(t *testing.T) {
		result := lint.RunAll(Dir(), nil, ReleaseNamespace)
		for _, msg := range result.Messages {
			t.Log(msg)
			assert.Less(t, msg.Severity, support.WarningSev, "%s", msg)
		}
	})
}

func TestValuesAreDocumented(t *testing.T) {
	t.Run("every key of values.yaml has a comment above it", func(t *testing.T) {
		for _, key := range undocumentedKeys(t) {
			assert.Fail(t, "undocumented value", "values.yaml key %q has no comment", key)
		}
	})
}

// undocumentedKeys returns the keys of values.yaml without a comment on them or a parent.
func undocumentedKeys(t *testing.T) []string {
	t.Helper()
	values, err := Values()
	require.NoError(t, err)
	require.NotEmpty(t, values)
	var keys []string
	for _, v := range values {
		if !v.Documented {
			keys = append(keys, v.Key)
		}
	}
	return keys
}

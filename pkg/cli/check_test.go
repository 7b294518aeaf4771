package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/kuberos"
	"github.com/kuberos-io/kuberos-registry/pkg/registry"
)

// checkEntries is the containerRegistry list of the KubeROS documentation.
var checkEntries = []registry.Entry{
	{Name: "default", ImagePullSecretName: "default-token", ImagePullPolicy: corev1.PullAlways},
	{Name: "second-registry", ImagePullSecretName: "second-token",
		ImagePullPolicy: corev1.PullIfNotPresent},
}

// checkTestManifest is a deployment with the entries and one module per "name=registry" pair; an
// empty registry leaves containerRegistryName out.
func checkTestManifest(entries []registry.Entry, modules ...string) *kuberos.Manifest {
	m := &kuberos.Manifest{
		Kind:              kuberos.KindApplicationDeployment,
		Metadata:          kuberos.Metadata{Name: "hi-kube"},
		ContainerRegistry: entries,
	}
	for _, module := range modules {
		name, registryName, _ := strings.Cut(module, "=")
		m.RosModules = append(m.RosModules, kuberos.RosModule{
			Name:                  name,
			Image:                 "registry.example.com/ros/" + name + ":v1",
			ContainerRegistryName: registryName,
		})
	}
	return m
}

// checkTestToken is a token of the store without data, as a check holds it.
func checkTestToken(name, registryURL, allowed string) corev1.Secret {
	secret := corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Namespace:   contract.DefaultTokenNamespace,
		Labels:      contract.TokenLabels(),
		Annotations: map[string]string{contract.RegistryURL: registryURL},
	}}
	if allowed != "" {
		secret.Annotations[contract.AllowedNamespaces] = allowed
	}
	return secret
}

// checkView is a view of an opted-in ros-default holding the Secrets named, of the pull type.
func checkView(tokens []corev1.Secret, secrets ...string) clusterView {
	view := clusterView{
		namespace:       kuberos.DefaultNamespace,
		namespaceExists: true,
		optedIn:         true,
		secrets:         map[string]corev1.SecretType{},
		store:           contract.DefaultTokenNamespace,
		tokens:          tokens,
	}
	for _, name := range secrets {
		view.secrets[name] = corev1.SecretTypeDockerConfigJson
	}
	return view
}

func TestCheckManifest(t *testing.T) {
	bothTokens := []corev1.Secret{
		checkTestToken("default-token", "registry.example.com", ""),
		checkTestToken("second-token", "second.example.com", ""),
	}
	cases := []struct {
		name     string
		manifest *kuberos.Manifest
		view     clusterView
		statuses []string
		problems []string // substrings, one per problem, in order
		warnings []string // substrings, one per warning, in order
	}{
		{
			name:     "a module of the first entry whose Secret exists passes",
			manifest: checkTestManifest(checkEntries, "talker"),
			view:     checkView(nil, "default-token"),
			statuses: []string{statusSecretExists},
		},
		{
			name:     "a token in the store is copied at admission",
			manifest: checkTestManifest(checkEntries, "talker=default"),
			view:     checkView(bothTokens),
			statuses: []string{statusTokenExists},
		},
		{
			name:     "a module of the second entry passes with a warning about KubeROS",
			manifest: checkTestManifest(checkEntries, "talker", "listener=second-registry"),
			view:     checkView(bothTokens),
			statuses: []string{statusTokenExists, statusTokenExists},
			warnings: []string{`module listener: KubeROS finds only the first ` +
				`containerRegistry entry ("default"), so on its own it gives this module an ` +
				`empty pull secret instead of second-token`},
		},
		{
			name: "a module naming the default entry when it is second is warned of too",
			manifest: checkTestManifest([]registry.Entry{checkEntries[1], checkEntries[0]},
				"talker"),
			view:     checkView(bothTokens),
			statuses: []string{statusTokenExists},
			warnings: []string{"module talker: KubeROS finds only the first containerRegistry " +
				`entry ("second-registry")`},
		},
		{
			name:     "an unknown registry name is a problem saying KubeROS uses an empty Secret",
			manifest: checkTestManifest(checkEntries, "talker=third-registry"),
			view:     checkView(bothTokens),
			statuses: []string{statusUnknownRegistry},
			problems: []string{`module talker: containerRegistryName "third-registry" is not ` +
				`in the containerRegistry list (the names are default, second-registry): ` +
				`KubeROS silently gives the Pod an empty pull secret`},
		},
		{
			name: "an explicit default without a default entry is unknown too",
			manifest: checkTestManifest(checkEntries[1:], "talker=default",
				"listener=second-registry"),
			view:     checkView(bothTokens),
			statuses: []string{statusUnknownRegistry, statusTokenExists},
			problems: []string{`module talker: containerRegistryName "default" is not in`},
		},
		{
			name: "an entry without imagePullSecretName is a problem naming its modules",
			manifest: checkTestManifest([]registry.Entry{{Name: "default",
				ImagePullPolicy: corev1.PullAlways}}, "talker", "listener=default"),
			view:     checkView(nil),
			statuses: []string{statusInvalidEntry, statusInvalidEntry},
			problems: []string{`modules talker, listener: containerRegistry[0] (name ` +
				`"default") has no imagePullSecretName; add the Secret to pull with`},
		},
		{
			name: "a bad imagePullPolicy is a problem with the allowed values",
			manifest: checkTestManifest([]registry.Entry{checkEntries[0], {Name: "second-registry",
				ImagePullSecretName: "second-token", ImagePullPolicy: "Sometimes"}},
				"talker=second-registry"),
			view:     checkView(bothTokens),
			statuses: []string{statusInvalidEntry},
			problems: []string{`module talker: containerRegistry[1] (name "second-registry"): ` +
				`imagePullPolicy "Sometimes" is not valid; use Always, IfNotPresent or Never`},
		},
		{
			name: "every bad entry is reported, even one no module uses",
			manifest: checkTestManifest([]registry.Entry{{Name: "default"}, checkEntries[1],
				{Name: "third", ImagePullSecretName: "Not_A_Name"}}, "talker=second-registry"),
			view:     checkView(bothTokens),
			statuses: []string{statusTokenExists},
			problems: []string{
				`containerRegistry[0] (name "default") has no imagePullSecretName`,
				`containerRegistry[2] (name "third"): imagePullSecretName "Not_A_Name" is ` +
					`not a valid Secret name`,
			},
			warnings: []string{"module talker: KubeROS finds only the first"},
		},
		{
			name: "two entries of the same name are a problem",
			manifest: checkTestManifest([]registry.Entry{checkEntries[0], {Name: "default",
				ImagePullSecretName: "other-token", ImagePullPolicy: corev1.PullNever}},
				"talker"),
			view:     checkView(bothTokens),
			statuses: []string{statusTokenExists},
			problems: []string{`containerRegistry[1] (name "default") has the same name as ` +
				`containerRegistry[0]; give each entry its own name`},
		},
		{
			name: "an entry without imagePullPolicy warns that KubeROS fails on it",
			manifest: checkTestManifest([]registry.Entry{{Name: "default",
				ImagePullSecretName: "default-token"}}, "talker"),
			view:     checkView(bothTokens),
			statuses: []string{statusTokenExists},
			warnings: []string{`containerRegistry[0] (name "default") has no imagePullPolicy: ` +
				`KubeROS fails on such an entry; add one, for example "imagePullPolicy: Always"`},
		},
		{
			name:     "a missing token is a problem with the command that adds it",
			manifest: checkTestManifest(checkEntries, "talker"),
			view:     checkView(nil),
			statuses: []string{statusMissing},
			problems: []string{"module talker: Secret default-token is neither in namespace " +
				"ros-default nor a token in the store kuberos-registry; add the token: " +
				"kuberos-registry token create default-token -f registry_token.yaml"},
		},
		{
			name:     "a token that does not allow the namespace is a problem",
			manifest: checkTestManifest(checkEntries, "talker"),
			view: checkView([]corev1.Secret{
				checkTestToken("default-token", "registry.example.com", "team-*")}),
			statuses: []string{statusTokenNotAllowed},
			problems: []string{"module talker: token default-token may not be copied into " +
				"namespace ros-default (allowed: team-*); allow it: kuberos-registry token " +
				"update default-token --allowed-namespaces 'team-*,ros-default'"},
		},
		{
			name:     "a Secret that is not a pull secret is a problem",
			manifest: checkTestManifest(checkEntries, "talker"),
			view: func() clusterView {
				v := checkView(bothTokens)
				v.secrets["default-token"] = corev1.SecretTypeOpaque
				return v
			}(),
			statuses: []string{statusWrongType},
			problems: []string{"module talker: Secret ros-default/default-token has type Opaque"},
		},
		{
			name:     "a namespace that has not opted in is a problem",
			manifest: checkTestManifest(checkEntries, "talker"),
			view: func() clusterView {
				v := checkView(bothTokens)
				v.optedIn = false
				return v
			}(),
			statuses: []string{statusTokenExists},
			problems: []string{"namespace ros-default has not opted in, so the webhook never " +
				"sees its Pods: opt it in: kubectl annotate namespace ros-default " +
				"registry.kuberos.io/inject=enabled"},
		},
		{
			name:     "a namespace that does not exist is a problem",
			manifest: checkTestManifest(checkEntries, "talker"),
			view: clusterView{namespace: "ros-lab", store: contract.DefaultTokenNamespace,
				tokens: bothTokens},
			statuses: []string{statusTokenExists},
			problems: []string{"namespace ros-lab does not exist: create it and opt it in: " +
				"kubectl create namespace ros-lab && kubectl annotate namespace ros-lab " +
				"registry.kuberos.io/inject=enabled"},
		},
		{
			name:     "a manifest without a containerRegistry list is public",
			manifest: checkTestManifest(nil, "talker", "listener=second-registry"),
			view:     clusterView{namespace: "ros-default"},
			statuses: []string{statusPublic, statusPublic},
		},
		{
			name:     "a module naming no registry without a default entry is matched by image",
			manifest: checkTestManifest(checkEntries[1:], "talker"),
			view:     checkView(bothTokens),
			statuses: []string{statusTokenByImage},
		},
		{
			name:     "a module naming no registry that no token matches is public, with a warning",
			manifest: checkTestManifest(checkEntries[1:], "talker"),
			view:     checkView(bothTokens[1:]),
			statuses: []string{statusPublic},
			warnings: []string{`module talker names no registry and the containerRegistry ` +
				`list has no entry named "default": its image is pulled without a Secret`},
		},
		{
			name:     "a registry name with whitespace is a problem",
			manifest: checkTestManifest(checkEntries, "talker=second registry"),
			view:     checkView(bothTokens),
			statuses: []string{statusInvalidName},
			problems: []string{`module talker: containerRegistryName "second registry" is not ` +
				`the name of one registry`},
		},
		{
			name:     "a registry name for the module's own container is accepted",
			manifest: checkTestManifest(checkEntries, "talker=talker=default"),
			view:     checkView(bothTokens),
			statuses: []string{statusTokenExists},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			report := checkManifest(tc.manifest, tc.view)

			var statuses []string
			for _, m := range report.Modules {
				statuses = append(statuses, m.Status)
			}
			assert.Equal(t, tc.statuses, statuses)
			requireCheckLines(t, "problem", tc.problems, report.Problems)
			requireCheckLines(t, "warning", tc.warnings, report.Warnings)

			again := checkManifest(tc.manifest, tc.view)
			assert.Equal(t, report, again, "a second check gives the same report")
		})
	}
}

// requireCheckLines asserts that got has one item per want, each containing it.
func requireCheckLines(t *testing.T, kind string, want, got []string) {
	t.Helper()
	require.Len(t, got, len(want), "%ss: %s", kind, strings.Join(got, "\n"))
	for i := range want {
		assert.Contains(t, got[i], want[i], "%s %d", kind, i)
		assert.NotContains(t, got[i], "\n", "a %s is one line", kind)
	}
}

func TestKubeROSSecret(t *testing.T) {
	cases := []struct {
		name   string
		module kuberos.RosModule
		want   string
	}{
		{"a module without a name gets the first entry when it is default",
			kuberos.RosModule{Name: "talker"}, "default-token"},
		{"a module naming the first entry gets it",
			kuberos.RosModule{Name: "talker", ContainerRegistryName: "default"}, "default-token"},
		{"a module naming the second entry gets an empty Secret",
			kuberos.RosModule{Name: "talker", ContainerRegistryName: "second-registry"}, ""},
		{"a module naming an unknown registry gets an empty Secret",
			kuberos.RosModule{Name: "talker", ContainerRegistryName: "third"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, kuberosSecret(checkEntries, tc.module))
		})
	}
	assert.Empty(t, kuberosSecret(nil, kuberos.RosModule{Name: "talker"}),
		"a manifest without a list gives every module an empty Secret")
}

func TestCheckReportErr(t *testing.T) {
	cases := []struct {
		name     string
		problems []string
		want     string
	}{
		{"a report without problems is no error", nil, ""},
		{"one problem is named in the singular", []string{"module a: x"},
			"hi.yaml has 1 problem in namespace ros-default:\n  module a: x"},
		{"every problem has a line of its own", []string{"module a: x", "module b: y"},
			"hi.yaml has 2 problems in namespace ros-default:\n  module a: x\n  module b: y"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkReport{Namespace: "ros-default", Problems: tc.problems}.err("hi.yaml")
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestPrintCheckReport(t *testing.T) {
	report := checkManifest(checkTestManifest(checkEntries, "talker", "listener=second-registry"),
		checkView([]corev1.Secret{checkTestToken("second-token", "second.example.com", "")},
			"default-token"))

	cases := []struct {
		name   string
		output string
		want   string
	}{
		{"the table has a row per module", outputTable, "" +
			"MODULE     IMAGE                                  REGISTRY          " +
			"SECRET          POLICY         STATUS\n" +
			"talker     registry.example.com/ros/talker:v1     default           " +
			"default-token   Always         Secret exists\n" +
			"listener   registry.example.com/ros/listener:v1   second-registry   " +
			"second-token    IfNotPresent   token exists (copied at admission)\n"},
		{"the wide table adds the Secret KubeROS writes", outputWide, "" +
			"MODULE     IMAGE                                  REGISTRY          " +
			"SECRET          POLICY         STATUS                               " +
			"KUBEROS SECRET\n" +
			"talker     registry.example.com/ros/talker:v1     default           " +
			"default-token   Always         Secret exists                        " +
			"default-token\n" +
			"listener   registry.example.com/ros/listener:v1   second-registry   " +
			"second-token    IfNotPresent   token exists (copied at admission)   -\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, printCheckReport(&out, tc.output, report))
			assert.Equal(t, tc.want, out.String())
		})
	}

	t.Run("JSON holds every module and the warnings", func(t *testing.T) {
		var out bytes.Buffer
		require.NoError(t, printCheckReport(&out, outputJSON, report))
		var decoded checkReport
		require.NoError(t, json.Unmarshal(out.Bytes(), &decoded))
		assert.Equal(t, report, decoded)
	})

	t.Run("a public manifest says there is nothing to check", func(t *testing.T) {
		var out bytes.Buffer
		public := checkManifest(checkTestManifest(nil, "talker"), clusterView{})
		require.NoError(t, printCheckReport(&out, outputTable, public))
		assert.Equal(t, "ApplicationDeployment hi-kube has no containerRegistry list: its "+
			"images are public and pulled without a Secret; nothing to check\n", out.String())
	})
}

// TestCheckKubeROSManifests checks the real KubeROS manifests: they parse, and the batch
// job's missing token is a problem, not a failure.
func TestCheckKubeROSManifests(t *testing.T) {
	t.Run("the hello world deployment is public", func(t *testing.T) {
		m, err := kuberos.ReadManifest(
			filepath.Join("..", "kuberos", "testdata", "hello_world.deployment.yaml"))
		require.NoError(t, err)
		report := checkManifest(m, clusterView{namespace: kuberos.DefaultNamespace})
		assert.True(t, report.Public)
		assert.Len(t, report.Modules, 2)
		assert.Empty(t, report.Problems)
	})

	t.Run("the batch job's missing token is reported for each module", func(t *testing.T) {
		m, err := kuberos.ReadManifest(
			filepath.Join("..", "kuberos", "testdata", "v2_batch_jobs.hello_world.yaml"))
		require.NoError(t, err)
		report := checkManifest(m, checkView(nil))
		assert.Len(t, report.Modules, 3)
		require.Len(t, report.Problems, 3)
		for _, problem := range report.Problems {
			assert.Contains(t, problem, "Secret kuberos-fogrobo-registry-token-test is neither")
		}
		assert.Empty(t, report.Warnings, "every module uses the first entry")
	})
}

package webhook

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

const (
	storeNamespace = "kuberos-registry"
	podNamespace   = "ros-default"
	tokenName      = "kuberos-registry-token-default"
	tokenURL       = "registry.example.com"
)

// defaultList is a containerRegistry list whose default entry pulls with tokenName.
const defaultList = "- {name: default, imagePullSecretName: " + tokenName +
	", imagePullPolicy: Always}"

func namespace(name string, optedIn bool) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if optedIn {
		ns.Annotations = map[string]string{contract.Inject: contract.InjectEnabled}
	}
	return ns
}

// registryToken is a token of the store; allowed sets its allowed-namespaces annotation
// unless empty.
func registryToken(name, allowed string) *corev1.Secret {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   storeNamespace,
			Labels:      contract.TokenLabels(),
			Annotations: map[string]string{contract.RegistryURL: tokenURL},
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(
			`{"auths":{"` + tokenURL + `":{"username":"robot","password":"` + name + `"}}}`)},
	}
	if allowed != "" {
		secret.Annotations[contract.AllowedNamespaces] = allowed
	}
	return secret
}

// kuberosAdmissionPod is a KubeROS Pod that names the registry list in its annotations.
func kuberosAdmissionPod(annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "simbot-1-" + talker, Namespace: podNamespace, Annotations: annotations},
		Spec: corev1.PodSpec{
			RestartPolicy:    corev1.RestartPolicyNever,
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: ""}},
			Containers: []corev1.Container{{Name: talker,
				Image: tokenURL + "/ros2-basic-examples:v2-param", ImagePullPolicy: "Always"}},
		},
	}
}

func withList() map[string]string {
	return map[string]string{contract.ContainerRegistry: defaultList}
}

// createRequest is the admission request for creating the Pod in podNamespace.
func createRequest(t *testing.T, pod *corev1.Pod) admission.Request {
	t.Helper()
	raw, err := json.Marshal(pod)
	require.NoError(t, err)
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "request-1",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: podNamespace,
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
	}}
}

// fixture is a handler over a fake cluster.
type fixture struct {
	client   client.Client
	recorder *events.FakeRecorder
	handler  admission.Handler
}

type fixtureOptions struct {
	objects   []client.Object
	apiReader client.Reader
	policy    MissingSecretPolicy
}

func newFixture(opts fixtureOptions) fixture {
	c := fake.NewClientBuilder().WithObjects(opts.objects...).Build()
	recorder := events.NewFakeRecorder(10)
	handler := NewPodMutator(Options{
		Client:          c,
		APIReader:       opts.apiReader,
		Store:           token.NewStore(c, c, storeNamespace),
		OnMissingSecret: opts.policy,
		Recorder:        recorder,
	})
	return fixture{client: c, recorder: recorder, handler: handler}
}

// getSecret reads a Secret from the fixture's cluster; nil when it does not exist.
func (f fixture) getSecret(t *testing.T, namespace, name string) *corev1.Secret {
	t.Helper()
	secret := &corev1.Secret{}
	err := f.client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, secret)
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return secret
}

func TestHandleSkipsWhatItDoesNotHandle(t *testing.T) {
	optedIn := []client.Object{namespace(podNamespace, true), registryToken(tokenName, "")}
	tests := []struct {
		name   string
		change func(*admission.Request)
	}{
		{
			name:   "an update is allowed unchanged",
			change: func(r *admission.Request) { r.Operation = admissionv1.Update },
		},
		{
			name:   "a delete is allowed unchanged",
			change: func(r *admission.Request) { r.Operation = admissionv1.Delete },
		},
		{
			name:   "a connect is allowed unchanged",
			change: func(r *admission.Request) { r.Operation = admissionv1.Connect },
		},
		{
			name: "another kind is allowed unchanged",
			change: func(r *admission.Request) {
				r.Kind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
			},
		},
		{
			name:   "a subresource is allowed unchanged",
			change: func(r *admission.Request) { r.SubResource = "ephemeralcontainers" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(fixtureOptions{objects: optedIn})
			req := createRequest(t, kuberosAdmissionPod(withList()))
			tt.change(&req)

			resp := f.handler.Handle(t.Context(), req)

			assert.True(t, resp.Allowed)
			assert.Empty(t, resp.Patches)
			assert.Nil(t, f.getSecret(t, podNamespace, tokenName), "no Secret is copied")
		})
	}
}

func TestHandleRejectsAnUndecodableObject(t *testing.T) {
	f := newFixture(fixtureOptions{objects: []client.Object{namespace(podNamespace, true)}})
	req := createRequest(t, kuberosAdmissionPod(nil))
	req.Object.Raw = []byte(`{"spec": "not a Pod spec"`)

	resp := f.handler.Handle(t.Context(), req)

	assert.False(t, resp.Allowed)
	require.NotNil(t, resp.Result)
	assert.Equal(t, int32(http.StatusBadRequest), resp.Result.Code)
	assert.Contains(t, resp.Result.Message, "failed to decode Pod")
}

func TestHandleLeavesPodsAlone(t *testing.T) {
	tests := []struct {
		name    string
		objects []client.Object
		pod     *corev1.Pod
	}{
		{
			name:    "a Pod that opted out is allowed unchanged",
			objects: []client.Object{namespace(podNamespace, true), registryToken(tokenName, "")},
			pod: kuberosAdmissionPod(map[string]string{
				contract.ContainerRegistry: defaultList,
				contract.Inject:            contract.InjectDisabled,
			}),
		},
		{
			name:    "a Pod in a namespace without the annotation is allowed unchanged",
			objects: []client.Object{namespace(podNamespace, false), registryToken(tokenName, "")},
			pod:     kuberosAdmissionPod(withList()),
		},
		{
			name: "a Pod in a namespace annotated with another value is allowed unchanged",
			objects: []client.Object{
				&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: podNamespace,
					Annotations: map[string]string{contract.Inject: "true"}}},
				registryToken(tokenName, ""),
			},
			pod: kuberosAdmissionPod(withList()),
		},
		{
			name:    "a Pod in a namespace that exists nowhere is allowed unchanged",
			objects: []client.Object{registryToken(tokenName, "")},
			pod:     kuberosAdmissionPod(withList()),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(fixtureOptions{objects: tt.objects})

			resp := f.handler.Handle(t.Context(), createRequest(t, tt.pod))

			assert.True(t, resp.Allowed)
			assert.Empty(t, resp.Patches)
			assert.Nil(t, f.getSecret(t, podNamespace, tokenName), "no Secret is copied")
		})
	}
}

func TestHandleReadsANamespaceTheCacheDoesNotHoldYet(t *testing.T) {
	live := fake.NewClientBuilder().WithObjects(namespace(podNamespace, true)).Build()
	f := newFixture(fixtureOptions{
		objects:   []client.Object{registryToken(tokenName, "")},
		apiReader: live,
	})

	resp := f.handler.Handle(t.Context(), createRequest(t, kuberosAdmissionPod(withList())))

	assert.True(t, resp.Allowed)
	assert.Contains(t, resp.Patches, addSecrets(tokenName), "the Pod was handled")
	assert.NotNil(t, f.getSecret(t, podNamespace, tokenName), "the token was copied")
}

func TestHandleReadsANamespaceTheCacheHoldsStale(t *testing.T) {
	live := fake.NewClientBuilder().WithObjects(namespace(podNamespace, true)).Build()
	f := newFixture(fixtureOptions{
		objects:   []client.Object{namespace(podNamespace, false), registryToken(tokenName, "")},
		apiReader: live,
	})

	resp := f.handler.Handle(t.Context(), createRequest(t, kuberosAdmissionPod(withList())))

	assert.True(t, resp.Allowed)
	assert.Contains(t, resp.Patches, addSecrets(tokenName), "the Pod was handled")
}

func TestHandleDeniesAnUnknownRegistryName(t *testing.T) {
	f := newFixture(fixtureOptions{objects: []client.Object{
		namespace(podNamespace, true), registryToken(tokenName, "")}})
	pod := kuberosAdmissionPod(map[string]string{
		contract.ContainerRegistry:     defaultList,
		contract.ContainerRegistryName: "second-registry",
	})

	resp := f.handler.Handle(t.Context(), createRequest(t, pod))

	assert.False(t, resp.Allowed)
	require.NotNil(t, resp.Result)
	assert.Contains(t, resp.Result.Message, `container "`+talker+`"`)
	assert.Contains(t, resp.Result.Message, `"second-registry"`)
	assert.Contains(t, resp.Result.Message, "default", "the names that exist are listed")
	assert.Empty(t, resp.Patches)
	assert.Nil(t, f.getSecret(t, podNamespace, tokenName), "no Secret is copied")
}

func TestHandleMissingSecret(t *testing.T) {
	tests := []struct {
		name        string
		policy      MissingSecretPolicy
		token       *corev1.Secret
		wantAllowed bool
		wantText    string
	}{
		{
			name:        "a missing token under the default policy is allowed with a warning",
			wantAllowed: true,
			wantText:    "holds no token of that name",
		},
		{
			name:        "a missing token under Warn is allowed with a warning",
			policy:      Warn,
			wantAllowed: true,
			wantText:    "holds no token of that name",
		},
		{
			name:     "a missing token under Deny is denied",
			policy:   Deny,
			wantText: "holds no token of that name",
		},
		{
			name:        "a token not allowed in the namespace under Warn is allowed, warned",
			policy:      Warn,
			token:       registryToken(tokenName, "team-a-*"),
			wantAllowed: true,
			wantText:    "may not be copied there",
		},
		{
			name:     "a token not allowed in the namespace under Deny is denied",
			policy:   Deny,
			token:    registryToken(tokenName, "team-a-*"),
			wantText: "may not be copied there",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objects := []client.Object{namespace(podNamespace, true)}
			if tt.token != nil {
				objects = append(objects, tt.token)
			}
			f := newFixture(fixtureOptions{objects: objects, policy: tt.policy})

			resp := f.handler.Handle(t.Context(),
				createRequest(t, kuberosAdmissionPod(withList())))

			assert.Equal(t, tt.wantAllowed, resp.Allowed)
			assert.Nil(t, f.getSecret(t, podNamespace, tokenName), "no Secret is copied")
			if !tt.wantAllowed {
				require.NotNil(t, resp.Result)
				assert.Contains(t, resp.Result.Message, `"`+tokenName+`"`)
				assert.Contains(t, resp.Result.Message, tt.wantText)
				assert.Empty(t, resp.Patches)
				return
			}
			require.Len(t, resp.Warnings, 1)
			assert.Contains(t, resp.Warnings[0], `"`+tokenName+`"`)
			assert.Contains(t, resp.Warnings[0], tt.wantText)
			assert.Contains(t, resp.Patches, addSecrets(tokenName), "the Pod is still patched")
			require.Len(t, f.recorder.Events, 1)
			assert.Contains(t, <-f.recorder.Events, contract.ReasonSecretMissing)
		})
	}
}

func TestHandleCopiesAnAllowedToken(t *testing.T) {
	tests := []struct {
		name    string
		allowed string
	}{
		{name: "a token without allowed namespaces is copied"},
		{name: "a token allowed by name is copied", allowed: podNamespace},
		{name: "a token allowed by a pattern is copied", allowed: "team-a, ros-*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			source := registryToken(tokenName, tt.allowed)
			f := newFixture(fixtureOptions{objects: []client.Object{
				namespace(podNamespace, true), source}})

			resp := f.handler.Handle(t.Context(),
				createRequest(t, kuberosAdmissionPod(withList())))

			assert.True(t, resp.Allowed)
			assert.Empty(t, resp.Warnings)
			copied := f.getSecret(t, podNamespace, tokenName)
			require.NotNil(t, copied, "the token was copied")
			assert.Equal(t, contract.MirrorLabels(tokenName), copied.Labels)
			assert.Equal(t, source.Data, copied.Data)
			assert.Equal(t, source.Type, copied.Type)
			assert.Equal(t, tokenURL, copied.Annotations[contract.RegistryURL])
			assert.NotContains(t, copied.Annotations, contract.AllowedNamespaces)
		})
	}
}

func TestHandleOnDryRunCreatesNoSecret(t *testing.T) {
	f := newFixture(fixtureOptions{objects: []client.Object{
		namespace(podNamespace, true), registryToken(tokenName, "")}})
	req := createRequest(t, kuberosAdmissionPod(withList()))
	dryRun := true
	req.DryRun = &dryRun

	resp := f.handler.Handle(t.Context(), req)

	assert.True(t, resp.Allowed)
	assert.Empty(t, resp.Warnings, "a token that would be copied is not missing")
	assert.Contains(t, resp.Patches, addSecrets(tokenName), "the Pod is patched as usual")
	assert.Nil(t, f.getSecret(t, podNamespace, tokenName), "no Secret is created")
}

func TestHandleLeavesAnExistingSecretAlone(t *testing.T) {
	tests := []struct {
		name     string
		existing *corev1.Secret
	}{
		{
			name: "a Secret of the user's with the token's name is not touched",
			existing: &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: tokenName, Namespace: podNamespace},
				Data:       map[string][]byte{"user": []byte("own")},
			},
		},
		{
			name: "an existing copy is not touched",
			existing: &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: tokenName, Namespace: podNamespace,
					Labels: contract.MirrorLabels(tokenName)},
				Data: map[string][]byte{"old": []byte("copy")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(fixtureOptions{objects: []client.Object{
				namespace(podNamespace, true), registryToken(tokenName, ""), tt.existing}})

			resp := f.handler.Handle(t.Context(),
				createRequest(t, kuberosAdmissionPod(withList())))

			assert.True(t, resp.Allowed)
			assert.Empty(t, resp.Warnings)
			got := f.getSecret(t, podNamespace, tokenName)
			require.NotNil(t, got)
			assert.Equal(t, tt.existing.Data, got.Data)
			assert.Equal(t, tt.existing.Labels, got.Labels)
		})
	}
}

func TestHandleAnAlreadyPatchedPodIsUnchanged(t *testing.T) {
	f := newFixture(fixtureOptions{objects: []client.Object{
		namespace(podNamespace, true), registryToken(tokenName, "")}})
	pod := kuberosAdmissionPod(withList())

	first := f.handler.Handle(t.Context(), createRequest(t, pod))
	require.True(t, first.Allowed)
	require.NotEmpty(t, first.Patches)
	patched := applyPlan(t, pod, plan{ops: first.Patches})

	second := f.handler.Handle(t.Context(), createRequest(t, patched))

	assert.True(t, second.Allowed)
	assert.Empty(t, second.Patches, "a second admission changes nothing")
}

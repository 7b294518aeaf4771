package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

const (
	secondTokenName = "second-registry-token"
	// secondList adds a second-registry entry to defaultList.
	secondList = defaultList + "\n- {name: second-registry, imagePullSecretName: " +
		secondTokenName + ", imagePullPolicy: IfNotPresent}"
	// threeMiB is larger than the 3 MiB the API server reads of a request body.
	threeMiB = 3 << 20
)

// outcome is what a hostile request must get.
type outcome struct {
	// code is 0 for an allowed request, else the code of the refusal (403 denied, 400 bad).
	code int32
	// patched says whether an allowed request gets a patch.
	patched bool
	// copied says whether the token is copied into podNamespace.
	copied bool
	// says are fragments of the response's message.
	says []string
	// injected is the value of the injected annotation after the patch, when not empty.
	injected string
}

var (
	denied     = func(says ...string) outcome { return outcome{code: 403, says: says} }
	badRequest = func(says ...string) outcome { return outcome{code: 400, says: says} }
	skipped    = outcome{says: []string{"only Pod creations are handled"}}
	unchanged  = outcome{says: []string{"nothing to change"}}
	// injectedDefault is the KubeROS Pod resolved to the default entry.
	injectedDefault = outcome{patched: true, copied: true, injected: talker + "=default"}
)

// withAnnotations is the create request of a KubeROS Pod with these annotations.
func withAnnotations(annotations map[string]string) func(*testing.T) admission.Request {
	return func(t *testing.T) admission.Request {
		return createRequest(t, kuberosAdmissionPod(annotations))
	}
}

func listAnnotation(list string) func(*testing.T) admission.Request {
	return withAnnotations(map[string]string{contract.ContainerRegistry: list})
}

func namesAnnotation(names string) func(*testing.T) admission.Request {
	return withAnnotations(map[string]string{
		contract.ContainerRegistry: secondList, contract.ContainerRegistryName: names})
}

// entryWith is a one-entry list with these fields added to a name.
func entryWith(name, fields string) string {
	return "- {name: " + name + ", " + fields + "}"
}

// changed is the create request of a KubeROS Pod with the default list, changed.
func changed(change func(*admission.Request)) func(*testing.T) admission.Request {
	return func(t *testing.T) admission.Request {
		req := createRequest(t, kuberosAdmissionPod(withList()))
		change(&req)
		return req
	}
}

// rawObject is a create request whose object is these bytes.
func rawObject(raw string) func(*testing.T) admission.Request {
	return func(*testing.T) admission.Request { return rawRequest([]byte(raw)) }
}

// withBytes encodes the Pod, then writes the placeholder's bytes as they are: encoding/json
// would have replaced invalid UTF-8 before the handler saw it.
func withBytes(
	pod *corev1.Pod,
	placeholder, replacement string,
) func(*testing.T) admission.Request {
	return func(t *testing.T) admission.Request {
		raw, err := json.Marshal(pod)
		require.NoError(t, err)
		require.Contains(t, string(raw), placeholder)
		return rawRequest(bytes.ReplaceAll(raw, []byte(placeholder), []byte(replacement)))
	}
}

// manyContainers is a KubeROS Pod with n containers c-0..c-(n-1) pulling IfNotPresent: every
// odd one named to second-registry by a pair, every even one on default.
func manyContainers(n int) (*corev1.Pod, string) {
	pod := kuberosAdmissionPod(nil)
	pod.Spec.Containers = nil
	var pairs, injected []string
	for i := range n {
		name := fmt.Sprintf("c-%d", i)
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: name,
			Image: tokenURL + "/ros2-basic-examples:v2-param", ImagePullPolicy: "IfNotPresent"})
		registry := "default"
		if i%2 == 1 {
			registry = "second-registry"
			pairs = append(pairs, name+"="+registry)
		}
		injected = append(injected, name+"="+registry)
	}
	pod.Annotations = map[string]string{
		contract.ContainerRegistry:     secondList,
		contract.ContainerRegistryName: strings.Join(pairs, ","),
	}
	return pod, strings.Join(injected, ",")
}

// manyInitContainers is a KubeROS Pod with n init containers that name a missing registry.
func manyInitContainers(n int) *corev1.Pod {
	pod := kuberosAdmissionPod(map[string]string{
		contract.ContainerRegistry: defaultList, contract.ContainerRegistryName: "missing"})
	for i := range n {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{
			Name: fmt.Sprintf("init-%d", i), Image: tokenURL + "/setup:v1"})
	}
	return pod
}

func TestHandleHostileInput(t *testing.T) {
	huge := strings.Repeat("x", threeMiB)
	longSecret := strings.Repeat("a", 254)
	many, manyInjected := manyContainers(1000)
	secret := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "stolen", Namespace: podNamespace,
			Annotations: map[string]string{contract.ContainerRegistry: defaultList}},
		Data: map[string][]byte{"password": []byte("hunter2")},
	}
	secretJSON, err := json.Marshal(secret)
	require.NoError(t, err)
	otherNamespace := kuberosAdmissionPod(withList())
	otherNamespace.Namespace = "other-team"
	badContainer := kuberosAdmissionPod(map[string]string{
		contract.ContainerRegistry:     secondList,
		contract.ContainerRegistryName: "talk@@er=second-registry"})
	badContainer.Spec.Containers[0].Name = "talk@@er"

	tests := []struct {
		name    string
		request func(*testing.T) admission.Request
		policy  MissingSecretPolicy
		want    outcome
	}{
		// The containerRegistry list.
		{name: "a YAML syntax error in the list is denied, naming the annotation",
			request: listAnnotation("- {name: default, imagePullSecretName: ["),
			want:    denied(contract.ContainerRegistry, "failed to parse", "for example")},
		{name: "a JSON syntax error in the list is denied, naming the annotation",
			request: listAnnotation(`[{"name": "default", "imagePullSecretName": "t"`),
			want:    denied(contract.ContainerRegistry, "failed to parse", "for example")},
		{name: "a map instead of a list is denied as not a list",
			request: listAnnotation("{name: default, imagePullSecretName: " + tokenName + "}"),
			want:    denied(contract.ContainerRegistry, "is a mapping, not a list")},
		{name: "a list of strings is denied as entries that are not mappings",
			request: listAnnotation("[default, second-registry]"),
			want: denied(contract.ContainerRegistry, "containerRegistry[0] is a string",
				"not a mapping")},
		{name: "nested lists are denied as entries that are not mappings",
			request: listAnnotation("[[{name: default, imagePullSecretName: t}]]"),
			want:    denied(contract.ContainerRegistry, "containerRegistry[0] is a list")},
		{name: "a null list is no list: the image's host matches the token",
			request: listAnnotation("null"),
			want: outcome{patched: true, copied: true,
				injected: talker + "=" + tokenName}},
		{name: "a huge number as a name is denied, not rewritten as an exponent",
			request: listAnnotation(entryWith("123456789012345678901234567890",
				"imagePullSecretName: "+tokenName)),
			want: denied(contract.ContainerRegistry, "field name is a number, not a string",
				"quote it")},
		{name: "a number too large for a float is read as text: an invalid policy",
			request: listAnnotation(entryWith("default", "imagePullSecretName: "+tokenName+
				", imagePullPolicy: 1e999")),
			want: denied(contract.ContainerRegistry, `imagePullPolicy "1e999" is not valid`)},
		{name: "an unknown field is denied, naming the field",
			request: listAnnotation(entryWith("default", "imagePullSecretName: t, registry: r")),
			want:    denied(contract.ContainerRegistry, `unknown field "registry"`)},
		{name: "a field given twice in one entry is denied as a parse error",
			request: listAnnotation(entryWith("default", "name: other, imagePullSecretName: t")),
			want:    denied(contract.ContainerRegistry, `"name" already set`)},
		{name: "two entries of the same name are denied",
			request: listAnnotation(defaultList + "\n" + defaultList),
			want: denied(contract.ContainerRegistry, `containerRegistry[1] (name "default")`,
				"has the same name as containerRegistry[0]")},
		{name: "an entry with an empty name is denied",
			request: listAnnotation(entryWith(`""`, "imagePullSecretName: t")),
			want:    denied(contract.ContainerRegistry, "has no name")},
		{name: "a registry name with '=' is denied",
			request: listAnnotation(entryWith(`"a=b"`, "imagePullSecretName: t")),
			want: denied(contract.ContainerRegistry, `(name "a=b")`,
				"has no whitespace, '=' or ','")},
		{name: "a registry name with ',' is denied",
			request: listAnnotation(entryWith(`"a,b"`, "imagePullSecretName: t")),
			want:    denied(contract.ContainerRegistry, `(name "a,b")`, "'=' or ','")},
		{name: "a registry name with whitespace is denied",
			request: listAnnotation(entryWith(`"second registry"`, "imagePullSecretName: t")),
			want:    denied(contract.ContainerRegistry, `(name "second registry")`, "whitespace")},
		{name: "a 3 MiB list is denied by its size, in a short message",
			request: listAnnotation(entryWith(huge, "imagePullSecretName: t")),
			want: denied(contract.ContainerRegistry, fmt.Sprintf("is %d bytes",
				len(entryWith(huge, "imagePullSecretName: t"))),
				"more than the 262144 bytes")},
		{name: "a 3 MiB list of valid entries is denied by its size",
			request: listAnnotation(strings.Repeat(defaultList+"\n", threeMiB/len(defaultList))),
			want:    denied(contract.ContainerRegistry, "more than the 262144 bytes")},

		// The containerRegistryName value.
		{name: "two bare names are denied with the hint",
			request: namesAnnotation("default,second-registry"),
			want: denied(contract.ContainerRegistryName, `two bare names, "default" and`,
				`"hello-world-talker=second-registry,default"`)},
		{name: "an empty item is denied with the hint",
			request: namesAnnotation("second-registry,,"),
			want:    denied(contract.ContainerRegistryName, "item 2 is empty", "for example")},
		{name: "a pair without a container name is denied",
			request: namesAnnotation("=second-registry"),
			want: denied(contract.ContainerRegistryName,
				`item "=second-registry" has no container name`)},
		{name: "a pair without a registry name is denied",
			request: namesAnnotation(talker + "="),
			want: denied(contract.ContainerRegistryName,
				`item "`+talker+`=" has no registry name`)},
		{name: "a pair with two '=' is denied",
			request: namesAnnotation("a=b=c"),
			want:    denied(contract.ContainerRegistryName, `item "a=b=c" has more than one '='`)},
		{name: "a pair naming no container of the Pod is denied with the Pod's containers",
			request: namesAnnotation("ghost=second-registry"),
			want: denied(contract.ContainerRegistryName, `container "ghost" is not in the Pod`,
				"the Pod's containers are "+talker, `"`+talker+`=second-registry"`)},
		{name: "a unicode registry name found nowhere is denied, naming the container",
			request: namesAnnotation("registry-ü"),
			want: denied(`container "`+talker+`"`, `registry name "registry-ü"`,
				"the names that exist are default, second-registry")},
		{name: "control characters in a name are denied and quoted, never written raw",
			request: namesAnnotation("\x1b[31mdefault\x00"),
			want:    denied(`container "`+talker+`"`, `registry name "\x1b[31mdefault\x00"`)},
		{name: "a 3 MiB name value is denied by its size, in a short message",
			request: namesAnnotation(huge),
			want: denied(contract.ContainerRegistryName, fmt.Sprintf("is %d bytes", threeMiB),
				"more than the 262144 bytes")},

		// Pull policies.
		{name: "the policy always in lowercase is denied with the allowed values",
			request: listAnnotation(entryWith("default", "imagePullSecretName: t, "+
				"imagePullPolicy: always")),
			want: denied(`imagePullPolicy "always" is not valid`, "Always, IfNotPresent or Never")},
		{name: "the policy Sometimes is denied with the allowed values",
			request: listAnnotation(entryWith("default", "imagePullSecretName: t, "+
				"imagePullPolicy: Sometimes")),
			want: denied(`imagePullPolicy "Sometimes" is not valid`,
				"Always, IfNotPresent or Never")},
		{name: "an empty policy leaves the container's policy: only the secret is injected",
			request: listAnnotation(entryWith("default", "imagePullSecretName: "+tokenName+
				`, imagePullPolicy: ""`)),
			want: injectedDefault},
		{name: "a number as a policy is denied as not a string",
			request: listAnnotation(entryWith("default", "imagePullSecretName: t, "+
				"imagePullPolicy: 1")),
			want: denied(contract.ContainerRegistry, "field imagePullPolicy is a number")},

		// Secret names.
		{name: "an uppercase secret name is denied as not a valid Secret name",
			request: listAnnotation(entryWith("default", "imagePullSecretName: Registry-Token")),
			want: denied(`imagePullSecretName "Registry-Token" is not a valid Secret name`,
				"lowercase")},
		{name: "a secret name of 254 characters is denied, quoted short",
			request: listAnnotation(entryWith("default", "imagePullSecretName: "+longSecret)),
			want: denied("is not a valid Secret name", "(254 bytes)",
				"no more than 253 characters")},
		{name: "a secret name with a slash is denied",
			request: listAnnotation(entryWith("default", "imagePullSecretName: team/token")),
			want:    denied(`imagePullSecretName "team/token" is not a valid Secret name`)},

		// Size.
		{name: "a Pod with 1,000 containers has each one resolved",
			request: func(t *testing.T) admission.Request { return createRequest(t, many) },
			want:    outcome{patched: true, copied: true, injected: manyInjected}},
		{name: "a Pod with 1,000 init containers naming a missing registry is denied once",
			request: func(t *testing.T) admission.Request {
				return createRequest(t, manyInitContainers(1000))
			},
			want: denied(`spec.initContainers[0] (container "init-0")`,
				`registry name "missing"`, "the names that exist are default")},

		// Kinds, operations and subresources.
		{name: "a Secret sent as the Pod decodes to a Pod without containers: unchanged",
			request: rawObject(string(secretJSON)), want: unchanged},
		{name: "a Deployment is skipped",
			request: changed(func(r *admission.Request) {
				r.Kind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
			}),
			want: skipped},
		{name: "a Secret kind is skipped",
			request: changed(func(r *admission.Request) {
				r.Kind = metav1.GroupVersionKind{Version: "v1", Kind: "Secret"}
				r.Object = runtime.RawExtension{Raw: secretJSON}
			}),
			want: skipped},
		{name: "an UPDATE is skipped",
			request: changed(func(r *admission.Request) { r.Operation = admissionv1.Update }),
			want:    skipped},
		{name: "a DELETE without an object is skipped",
			request: changed(func(r *admission.Request) {
				r.Operation, r.OldObject, r.Object = admissionv1.Delete, r.Object,
					runtime.RawExtension{}
			}),
			want: skipped},
		{name: "a CONNECT is skipped",
			request: changed(func(r *admission.Request) { r.Operation = admissionv1.Connect }),
			want:    skipped},
		{name: "the subresource pods/status is skipped",
			request: changed(func(r *admission.Request) { r.SubResource = "status" }),
			want:    skipped},
		{name: "the subresource pods/ephemeralcontainers is skipped",
			request: changed(func(r *admission.Request) { r.SubResource = "ephemeralcontainers" }),
			want:    skipped},
		{name: "the subresource pods/binding is skipped",
			request: changed(func(r *admission.Request) {
				r.SubResource = "binding"
				r.Kind = metav1.GroupVersionKind{Version: "v1", Kind: "Binding"}
			}),
			want: skipped},

		// Objects that are not Pods.
		{name: "an empty object is a Pod without containers: unchanged",
			request: rawObject(`{}`), want: unchanged},
		{name: "a null object is a Pod without containers: unchanged",
			request: rawObject(`null`), want: unchanged},
		{name: "a missing object is a bad request",
			request: rawObject(``), want: badRequest("failed to decode Pod")},
		{name: "a JSON list as the object is a bad request",
			request: rawObject(`[{"kind": "Pod"}]`), want: badRequest("failed to decode Pod")},
		{name: "a JSON string as the object is a bad request",
			request: rawObject(`"Pod"`), want: badRequest("failed to decode Pod")},
		{name: "a Pod without metadata whose image matches a token is patched",
			request: rawObject(`{"spec":{"containers":[{"name":"` + talker + `","image":"` +
				tokenURL + `/ros2-basic-examples:v2-param"}]}}`),
			want: outcome{patched: true, copied: true, injected: talker + "=" + tokenName}},

		// Bytes that are not UTF-8.
		{name: "non-UTF-8 bytes in a registry name are denied as an unknown name",
			request: withBytes(kuberosAdmissionPod(map[string]string{
				contract.ContainerRegistry: defaultList, contract.ContainerRegistryName: "@@"}),
				"@@", "sec\xff\xfeond"),
			want: denied(`container "`+talker+`"`, `registry name "sec`)},
		{name: "non-UTF-8 bytes in the list are denied where they make it invalid",
			request: withBytes(kuberosAdmissionPod(map[string]string{
				contract.ContainerRegistry: entryWith("default", "imagePullSecretName: @@")}),
				"@@", "tok\xffen"),
			want: denied(contract.ContainerRegistry, "is not a valid Secret name")},
		{name: "non-UTF-8 bytes in a container name and its pair still match",
			request: withBytes(badContainer, "@@", "\xc3\x28"),
			want: outcome{patched: true, copied: false,
				injected: "talk\ufffd(er=second-registry"}},

		// Namespaces and dry-run.
		{name: "an object in another namespace is resolved in the request's namespace",
			request: func(t *testing.T) admission.Request {
				return createRequest(t, otherNamespace)
			},
			want: injectedDefault},
		{name: "a dry-run is patched and copies nothing",
			request: changed(func(r *admission.Request) {
				dryRun := true
				r.DryRun = &dryRun
			}),
			want: outcome{patched: true, injected: talker + "=default"}},
		{name: "a missing token under Deny is denied with the command that adds it",
			request: namesAnnotation("second-registry"), policy: Deny,
			want: denied(`pull secret "`+secondTokenName+`"`, "token create "+secondTokenName)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(fixtureOptions{policy: tt.policy, objects: []client.Object{
				namespace(podNamespace, true), namespace("other-team", true),
				registryToken(tokenName, "")}})
			req := tt.request(t)

			resp, err := handleSafely(f.handler, req)

			require.NoError(t, err)
			require.NoError(t, checkResponse(resp))
			require.NotNil(t, resp.Result)
			for _, fragment := range tt.want.says {
				assert.Contains(t, resp.Result.Message, fragment)
			}
			assert.Equal(t, tt.want.copied, f.getSecret(t, podNamespace, tokenName) != nil,
				"the token is copied into the request's namespace")
			assert.Nil(t, f.getSecret(t, "other-team", tokenName), "never elsewhere")
			if tt.want.code != 0 {
				assert.False(t, resp.Allowed)
				assert.Equal(t, tt.want.code, resp.Result.Code)
				return
			}
			require.True(t, resp.Allowed, "allowed, but: %s", resp.Result.Message)
			assert.Equal(t, int32(http.StatusOK), resp.Result.Code)
			if !tt.want.patched {
				assert.Empty(t, resp.Patches)
				return
			}
			require.NotEmpty(t, resp.Patches)
			assertPatchedOnce(t, f, req, resp, tt.want.injected)
		})
	}
}

// assertPatchedOnce applies the response's patch to the request's object, checks the
// injected annotation, and admits the result again: nothing is left to change.
func assertPatchedOnce(
	t *testing.T,
	f fixture,
	req admission.Request,
	resp admission.Response,
	injected string,
) {
	t.Helper()
	patched, err := applyResponse(req.Object.Raw, resp)
	require.NoError(t, err)
	pod := &corev1.Pod{}
	require.NoError(t, json.Unmarshal(patched, pod))
	assert.Equal(t, injected, pod.Annotations[contract.Injected])

	req.Object.Raw = patched
	again, err := handleSafely(f.handler, req)
	require.NoError(t, err)
	assert.True(t, again.Allowed)
	assert.Empty(t, again.Patches, "a second admission changes nothing")
}

func TestHandleAPodWithManyContainersIsPatchedCorrectly(t *testing.T) {
	f := newFixture(fixtureOptions{objects: []client.Object{
		namespace(podNamespace, true), registryToken(tokenName, ""),
		registryToken(secondTokenName, "")}})
	pod, _ := manyContainers(1000)
	req := createRequest(t, pod)

	resp, err := handleSafely(f.handler, req)

	require.NoError(t, err)
	require.True(t, resp.Allowed)
	patched, err := applyResponse(req.Object.Raw, resp)
	require.NoError(t, err)
	out := &corev1.Pod{}
	require.NoError(t, json.Unmarshal(patched, out))
	assert.Equal(t, []corev1.LocalObjectReference{{Name: tokenName}, {Name: secondTokenName}},
		out.Spec.ImagePullSecrets)
	require.Len(t, out.Spec.Containers, 1000)
	for i, c := range out.Spec.Containers {
		want := corev1.PullAlways
		if i%2 == 1 {
			want = corev1.PullIfNotPresent
		}
		assert.Equal(t, want, c.ImagePullPolicy, "container %s", c.Name)
	}
	assert.Len(t, resp.Patches, 1+500+1, "the secrets, the 500 policies that differ, the "+
		"annotation")
}

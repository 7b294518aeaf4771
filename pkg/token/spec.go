package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Spec is a registry token as a user gives it. Token is the secret: it is written into the
// Secret's data and never returned, printed or logged.
type Spec struct {
	Name              string
	RegistryURL       string
	UserName          string
	Description       string
	Token             string
	AllowedNamespaces string
}

// String names the token without its secret, so that a Spec printed by mistake leaks nothing.
func (s Spec) String() string {
	return fmt.Sprintf("token %s for %s", s.Name, s.RegistryURL)
}

// Validate checks every field and returns all problems at once, each naming the field and
// the rule.
func (s *Spec) Validate() error {
	var problems []string
	for _, msg := range validation.IsDNS1123Subdomain(s.Name) {
		problems = append(problems, fmt.Sprintf("name %q: %s", s.Name, msg))
	}
	normalized, err := NormalizeRegistryURL(s.RegistryURL)
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		s.RegistryURL = normalized
	}
	if strings.TrimSpace(s.UserName) == "" {
		problems = append(problems, "userName: must not be empty")
	}
	if strings.TrimSpace(s.Token) == "" {
		problems = append(problems, "token: must not be empty")
	}
	for _, pattern := range AllowedPatterns(s.AllowedNamespaces) {
		if _, err := pathMatch(pattern); err != nil {
			problems = append(problems, fmt.Sprintf("allowedNamespaces: %q is not a name or "+
				"a * pattern", pattern))
		}
	}
	if len(problems) > 0 {
		return errors.New("invalid registry token: " + strings.Join(problems, "; "))
	}
	return nil
}

// NormalizeRegistryURL returns the registry host, port and path of a registry URL, with any
// scheme and trailing slash stripped: the form the kubelet compares images with.
func NormalizeRegistryURL(raw string) (string, error) {
	value := strings.TrimSpace(raw)
	if value == "" {
		return "", errors.New("registryUrl: must not be empty (for example " +
			"registry.example.com:5050/team)")
	}
	for _, scheme := range []string{"https://", "http://"} {
		value = strings.TrimPrefix(value, scheme)
	}
	parsed, err := url.Parse("https://" + value)
	if err != nil || parsed.Host == "" || parsed.RawQuery != "" || parsed.Fragment != "" ||
		parsed.User != nil || strings.ContainsAny(value, " \t") {
		return "", fmt.Errorf("registryUrl %q: not a registry host with an optional port "+
			"and path (for example registry.example.com:5050/team)", raw)
	}
	if port := parsed.Port(); port == "" && strings.HasSuffix(parsed.Host, ":") {
		return "", fmt.Errorf("registryUrl %q: the port is empty", raw)
	}
	return parsed.Host + strings.TrimRight(parsed.Path, "/"), nil
}

// NewSecret builds the token Secret of the contract in the store namespace: a
// kubernetes.io/dockerconfigjson Secret whose auths entry for the registry URL holds the user
// name, the token as password, and their base64 auth. Call Validate first.
func NewSecret(spec Spec, namespace string) (*corev1.Secret, error) {
	config, err := DockerConfigJSON(spec.RegistryURL, spec.UserName, spec.Token)
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{
		contract.RegistryURL: spec.RegistryURL,
		contract.UserName:    spec.UserName,
	}
	if spec.Description != "" {
		annotations[contract.Description] = spec.Description
	}
	if spec.AllowedNamespaces != "" {
		annotations[contract.AllowedNamespaces] =
			strings.Join(AllowedPatterns(spec.AllowedNamespaces), ",")
	}
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        spec.Name,
			Namespace:   namespace,
			Labels:      contract.TokenLabels(),
			Annotations: annotations,
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: config},
	}, nil
}

// DockerConfigJSON renders the .dockerconfigjson of one registry.
func DockerConfigJSON(registryURL, userName, token string) ([]byte, error) {
	type entry struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Auth     string `json:"auth"`
	}
	auth := base64.StdEncoding.EncodeToString([]byte(userName + ":" + token))
	// Writing the token into the Secret's data is the purpose of this function.
	data, err := json.Marshal(map[string]map[string]entry{"auths": { //nolint:gosec // G117
		registryURL: {Username: userName, Password: token, Auth: auth},
	}})
	if err != nil {
		return nil, fmt.Errorf("failed to encode the docker config: %w", err)
	}
	return data, nil
}

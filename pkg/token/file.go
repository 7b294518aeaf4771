package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The RegistryToken file of KubeROS, as users have it.
const (
	FileAPIVersion = "v1alpha"
	FileKind       = "RegistryToken"
)

// File is the RegistryToken template of KubeROS, with allowedNamespaces added.
type File struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   FileMetadata `json:"metadata"`
}

// FileMetadata holds the token's fields.
type FileMetadata struct {
	Name              string    `json:"name"`
	UserName          string    `json:"userName"`
	RegistryURL       string    `json:"registryUrl"`
	Token             string    `json:"token"`
	Description       string    `json:"description,omitempty"`
	AllowedNamespaces namesList `json:"allowedNamespaces,omitempty"`
}

// namesList reads a comma-separated string or a YAML list.
type namesList string

func (n *namesList) UnmarshalJSON(data []byte) error {
	var list []string
	if err := json.Unmarshal(data, &list); err == nil {
		*n = namesList(strings.Join(list, ","))
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("allowedNamespaces: write a list of names or * patterns, or one " +
			"comma-separated string")
	}
	*n = namesList(s)
	return nil
}

// ParseFile reads a RegistryToken file into a validated Spec. Unknown fields, a wrong kind or
// apiVersion, and every invalid field are errors that name the field and the rule.
func ParseFile(data []byte) (Spec, error) {
	var f File
	asJSON, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Spec{}, fmt.Errorf("invalid RegistryToken file: %s", redact(err.Error(), data))
	}
	// Field names are matched exactly, so `username:` is an unknown field, not userName.
	strict, err := kjson.UnmarshalStrict(asJSON, &f)
	if err != nil {
		return Spec{}, fmt.Errorf("invalid RegistryToken file: %s", redact(err.Error(), data))
	}
	if len(strict) > 0 {
		return Spec{}, fmt.Errorf("invalid RegistryToken file: %s",
			redact(errors.Join(strict...).Error(), data))
	}
	if f.Kind != FileKind {
		return Spec{}, fmt.Errorf("invalid RegistryToken file: kind is %q, want %s",
			f.Kind, FileKind)
	}
	if f.APIVersion != FileAPIVersion {
		return Spec{}, fmt.Errorf("invalid RegistryToken file: apiVersion is %q, want %s",
			f.APIVersion, FileAPIVersion)
	}
	spec := Spec{
		Name:              f.Metadata.Name,
		RegistryURL:       f.Metadata.RegistryURL,
		UserName:          f.Metadata.UserName,
		Description:       f.Metadata.Description,
		Token:             f.Metadata.Token,
		AllowedNamespaces: string(f.Metadata.AllowedNamespaces),
	}
	if err := spec.Validate(); err != nil {
		return Spec{}, err
	}
	return spec, nil
}

// redact keeps a parse error from quoting the token: YAML errors may echo the line they
// failed on.
func redact(message string, data []byte) string {
	var loose struct {
		Metadata struct {
			Token string `json:"token"`
		} `json:"metadata"`
	}
	if yaml.Unmarshal(data, &loose) == nil && loose.Metadata.Token != "" {
		message = strings.ReplaceAll(message, loose.Metadata.Token, "[redacted]")
	}
	return message
}

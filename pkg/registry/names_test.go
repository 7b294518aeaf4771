package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

func TestParseNames(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  Names
	}{
		{name: "an empty value names nothing", value: ""},
		{name: "a value of whitespace names nothing", value: "  "},
		{name: "a bare name covers every container", value: "second-registry",
			want: Names{Bare: "second-registry"}},
		{name: "whitespace around a bare name is ignored", value: " second-registry\n",
			want: Names{Bare: "second-registry"}},
		{name: "an explicit default is a bare name", value: "default",
			want: Names{Bare: "default"}},
		{
			name:  "pairs name registries by container",
			value: "hello-world-talker=second-registry,hello-world-listener=default",
			want: Names{PerContainer: map[string]string{
				"hello-world-talker": "second-registry", "hello-world-listener": "default"}},
		},
		{
			name:  "one bare name among pairs covers the other containers",
			value: "c1=a,b",
			want:  Names{Bare: "b", PerContainer: map[string]string{"c1": "a"}},
		},
		{
			name:  "the bare name may come first",
			value: "b,c1=a",
			want:  Names{Bare: "b", PerContainer: map[string]string{"c1": "a"}},
		},
		{
			name:  "whitespace around items and around '=' is ignored",
			value: " c1 = a , b ,c2= d",
			want:  Names{Bare: "b", PerContainer: map[string]string{"c1": "a", "c2": "d"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNames(tt.value)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			again, err := ParseNames(tt.value)
			require.NoError(t, err)
			assert.Equal(t, got, again, "a second parse gives the same names")
		})
	}
}

func TestParseNamesErrors(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		wantErr string
	}{
		{name: "two bare names are refused", value: "a,b",
			wantErr: `two bare names, "a" and "b"`},
		{name: "two bare names among pairs are refused", value: "a,c1=x,b",
			wantErr: `two bare names, "a" and "b"`},
		{name: "an empty item is refused", value: "a,,c1=b", wantErr: "item 2 is empty"},
		{name: "a trailing comma is refused", value: "c1=a,", wantErr: "item 2 is empty"},
		{name: "a leading comma is refused", value: ",a", wantErr: "item 1 is empty"},
		{name: "an item of whitespace is refused", value: "a, ,c1=b", wantErr: "item 2 is empty"},
		{name: "a pair without a container is refused", value: "=x",
			wantErr: `item "=x" has no container name before '='`},
		{name: "a pair without a registry name is refused", value: "c=",
			wantErr: `item "c=" has no registry name after '='`},
		{name: "a container named twice is refused", value: "c=x,c=y",
			wantErr: `container "c" is named twice`},
		{name: "an item with two '=' is refused", value: "c=x=y",
			wantErr: `item "c=x=y" has more than one '='`},
		{name: "a bare name with whitespace is refused", value: "second registry",
			wantErr: `registry name "second registry" contains whitespace`},
		{name: "a paired name with whitespace is refused", value: "c=second registry",
			wantErr: `registry name "second registry" contains whitespace`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNames(tt.value)
			require.Error(t, err)
			assert.Equal(t, Names{}, got)
			msg := err.Error()
			assert.Contains(t, msg, "annotation "+contract.ContainerRegistryName+":")
			assert.Contains(t, msg, tt.wantErr)
			assert.Contains(t, msg, `"hello-world-talker=second-registry,default"`,
				"the error shows a valid value")
			assertErrorStyle(t, msg)
		})
	}
}

func TestNamesFor(t *testing.T) {
	tests := []struct {
		name         string
		value        string
		container    string
		wantName     string
		wantExplicit bool
	}{
		{name: "a container named nowhere gets the implicit default", value: "",
			container: "talker", wantName: contract.DefaultRegistryName},
		{name: "a container without a pair gets the bare name", value: "second-registry",
			container: "talker", wantName: "second-registry", wantExplicit: true},
		{name: "a bare default is explicit", value: "default",
			container: "talker", wantName: "default", wantExplicit: true},
		{name: "a pair wins over the bare name", value: "talker=a,b",
			container: "talker", wantName: "a", wantExplicit: true},
		{name: "a container without a pair falls back to the bare name", value: "talker=a,b",
			container: "listener", wantName: "b", wantExplicit: true},
		{name: "a container without a pair or bare name gets the implicit default",
			value: "talker=a", container: "listener", wantName: contract.DefaultRegistryName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := ParseNames(tt.value)
			require.NoError(t, err)
			gotName, gotExplicit := names.For(tt.container)
			assert.Equal(t, tt.wantName, gotName)
			assert.Equal(t, tt.wantExplicit, gotExplicit)
		})
	}
}

package registry

import (
	"net"
	"net/url"
	"path"
	"strings"
)

// Token is what resolution needs to know of a registry token in the store: its name, which is
// also the name of its Secret, and the registry URL it opens (contract.RegistryURL).
type Token struct {
	Name        string
	RegistryURL string
}

// dockerHub is the host an image without a registry host is pulled from. Docker Hub goes by
// several names in .dockerconfigjson keys; all of them are read as this one.
const dockerHub = "docker.io"

// hubHosts are the names of Docker Hub in images and token URLs. The kubelet reads an image
// on docker.io or index.docker.io, or one without a host, as Docker Hub
// (pkg/credentialprovider/keyring.go, isDefaultRegistryMatch); docker login writes
// https://index.docker.io/v1/, and registry-1.docker.io is where Docker Hub serves the API.
var hubHosts = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
}

// location is a registry host, port and repository path, from a token URL or an image.
type location struct {
	host  []string // dot-separated parts, lowercase; glob patterns in a token URL
	port  string
	path  []string // repository path components, without tag or digest
	key   string   // host, port and path written out, to rank matches by specificity
	token Token
}

// MatchImage returns the token whose registry URL matches the image, the way the kubelet
// matches .dockerconfigjson keys: the hosts have as many dot-separated parts, each part of
// the token's host matches as a glob (`*.example.com`), the ports are equal, and the token's
// path is a prefix of the image's repository path, component by component. An image without
// a registry host is on Docker Hub. When several tokens match, the one with the longest
// registry URL wins, and of equally long ones the first by name. Tokens whose URL is empty or
// cannot be parsed never match.
func MatchImage(image string, tokens []Token) (Token, bool) {
	target, ok := parseImage(image)
	if !ok {
		return Token{}, false
	}

	var best *location
	for _, token := range tokens {
		candidate, ok := parseTokenURL(token.RegistryURL)
		if !ok || !candidate.matches(target) {
			continue
		}
		candidate.token = token
		if best == nil || candidate.isMoreSpecificThan(*best) {
			best = &candidate
		}
	}
	if best == nil {
		return Token{}, false
	}
	return best.token, true
}

// matches reports whether a token location covers an image location.
func (l location) matches(image location) bool {
	if l.port != image.port || len(l.host) != len(image.host) {
		return false
	}
	if len(l.path) > len(image.path) {
		return false
	}
	for i, part := range l.path {
		if image.path[i] != part {
			return false
		}
	}
	for i, pattern := range l.host {
		matched, err := path.Match(pattern, image.host[i])
		if err != nil || !matched {
			return false
		}
	}
	return true
}

// isMoreSpecificThan ranks two matching tokens: the longer URL wins, then the first name.
func (l location) isMoreSpecificThan(other location) bool {
	if len(l.key) != len(other.key) {
		return len(l.key) > len(other.key)
	}
	return l.token.Name < other.token.Name
}

// parseTokenURL reads a token's registry URL the way the kubelet reads a .dockerconfigjson
// key: an http or https scheme is dropped, and a /v1/ or /v2/ path means the host itself.
func parseTokenURL(raw string) (location, bool) {
	s := strings.TrimSpace(raw)
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "https://"):
		s = s[len("https://"):]
	case strings.HasPrefix(lower, "http://"):
		s = s[len("http://"):]
	}
	if s == "" || strings.Contains(s, "://") {
		return location{}, false
	}
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host == "" {
		return location{}, false
	}

	p := u.Path
	for _, version := range []string{"/v1", "/v2"} {
		if p == version || strings.HasPrefix(p, version+"/") {
			p = p[len(version):]
			break
		}
	}
	loc, ok := newLocation(u.Host, splitPath(p))
	if !ok {
		return location{}, false
	}
	for _, pattern := range loc.host {
		if _, err := path.Match(pattern, ""); err != nil {
			return location{}, false // a malformed glob can never match
		}
	}
	return loc, true
}

// parseImage reads the registry host and repository path of an image reference, without its
// tag and digest. Like docker, it takes the first path component for a host only when it
// has a '.' or a ':' or is localhost; any other image is on Docker Hub, where a single
// component is an official image under library/.
func parseImage(image string) (location, bool) {
	name, _, _ := strings.Cut(strings.TrimSpace(image), "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i] // a tag; a ':' before the last '/' is a host's port
	}
	if name == "" {
		return location{}, false
	}

	host := dockerHub
	first, rest, hasSlash := strings.Cut(name, "/")
	if hasSlash && (strings.ContainsAny(first, ".:") || first == "localhost") {
		host, name = first, rest
	}
	repo := splitPath(name)
	if len(repo) == 0 {
		return location{}, false
	}
	loc, ok := newLocation(host, repo)
	if !ok {
		return location{}, false
	}
	if loc.isHub() && len(loc.path) == 1 {
		loc.path = append([]string{"library"}, loc.path...)
		loc.key = writeKey(loc.host, loc.port, loc.path)
	}
	return loc, true
}

// newLocation splits a host with an optional port and reads every name of Docker Hub as one.
func newLocation(hostport string, repo []string) (location, bool) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "" // no port
	}
	host = strings.ToLower(host)
	if host == "" {
		return location{}, false
	}
	if port == "" && hubHosts[host] {
		host = dockerHub
	}
	parts := strings.Split(host, ".")
	return location{host: parts, port: port, path: repo, key: writeKey(parts, port, repo)},
		true
}

func (l location) isHub() bool {
	return l.port == "" && strings.Join(l.host, ".") == dockerHub
}

func writeKey(host []string, port string, repo []string) string {
	key := strings.Join(host, ".")
	if port != "" {
		key = net.JoinHostPort(key, port)
	}
	for _, component := range repo {
		key += "/" + component
	}
	return key
}

// splitPath returns the non-empty components of a slash-separated path.
func splitPath(p string) []string {
	var components []string
	for _, component := range strings.Split(p, "/") {
		if component != "" {
			components = append(components, component)
		}
	}
	return components
}

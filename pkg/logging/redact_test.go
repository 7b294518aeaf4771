package logging

import (
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/assert"
)

func TestRedact(t *testing.T) {
	const secret = "s3cret-registry-token"
	cases := []struct {
		name    string
		log     func(logr.Logger)
		want    string
		wantNot string
	}{{
		name: "a request body is replaced by its size",
		log: func(l logr.Logger) {
			l.V(8).Info("Request Body", "body", `{"data":{"password":"`+secret+`"}}`)
		},
		want: Redacted, wantNot: secret,
	}, {
		name: "a response body in bytes is replaced, also under a name and values",
		log: func(l logr.Logger) {
			l.WithName("client").WithValues("secret", "lab").V(9).
				Info("Response Body", "body", []byte(secret))
		},
		want: "(21 bytes)", wantNot: secret,
	}, {
		name: "other messages keep their values",
		log:  func(l logr.Logger) { l.Info("created a copy", "secret", "lab-token") },
		want: "lab-token",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var lines []string
			sink := funcr.New(func(prefix, args string) { lines = append(lines, prefix+args) },
				funcr.Options{Verbosity: 10})
			tc.log(Redact(sink))
			assert.Len(t, lines, 1)
			for _, line := range lines {
				assert.Contains(t, line, tc.want)
				if tc.wantNot != "" {
					assert.NotContains(t, line, tc.wantNot)
				}
			}
		})
	}
}

package cli

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrintClusters(t *testing.T) {
	two := 2
	rows := []clusterRow{
		{Name: "robot-cluster-1", Current: true, Server: "https://10.0.0.1:6443",
			Reachable: true, Version: "v1.34.1", Webhook: webhookInstalled, Tokens: &two},
		{Name: "robot-cluster-2", Server: "https://10.0.0.2:6443",
			Error: strings.Repeat("x", 80)},
	}
	cases := []struct {
		name   string
		output string
		want   string
	}{
		{"the table has a row per context, an unreachable one with dashes", outputTable, "" +
			"NAME              SERVER                  REACHABLE   VERSION   WEBHOOK     TOKENS\n" +
			"robot-cluster-1   https://10.0.0.1:6443   yes         v1.34.1   installed   2\n" +
			"robot-cluster-2   https://10.0.0.2:6443   no          -         -           -\n"},
		{"the wide table adds the current context and a shortened error", outputWide, "" +
			"CURRENT   NAME              SERVER                  REACHABLE   VERSION   " +
			"WEBHOOK     TOKENS   ERROR\n" +
			"*         robot-cluster-1   https://10.0.0.1:6443   yes         v1.34.1   " +
			"installed   2        -\n" +
			"          robot-cluster-2   https://10.0.0.2:6443   no          -         " +
			"-           -        " + strings.Repeat("x", 57) + "...\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, printClusters(&out, tc.output, rows))
			assert.Equal(t, tc.want, out.String())
		})
	}
}

func TestDescribeClusterError(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"the request URL around a transport error is dropped",
			&url.Error{Op: "Get", URL: "https://10.0.0.2:6443/version",
				Err: errors.New("dial tcp 10.0.0.2:6443: connect: connection refused")},
			"dial tcp 10.0.0.2:6443: connect: connection refused"},
		{"any other error is kept", errors.New("Unauthorized"), "Unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, describeClusterError(tc.err))
		})
	}
}

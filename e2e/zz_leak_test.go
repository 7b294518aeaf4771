package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kuberos-io/kuberos-registry/pkg/logging"
)

// TestTokensNeverReachTheLogs runs last (its file sorts last): it scans everything the
// webhook and controllers logged at the highest verbosity during the whole run for every
// token value the tests stored.
func TestTokensNeverReachTheLogs(t *testing.T) {
	t.Run("no token value appears in the webhook's logs", func(t *testing.T) {
		logs := suiteLogs.String()
		require.NotEmpty(t, logs, "the webhook logged nothing: the scan would prove nothing")
		values := rememberedSecrets()
		t.Logf("scanned %d bytes of logs for %d token values", len(logs), len(values))
		for _, value := range values {
			assert.False(t, strings.Contains(logs, value), "a token value is in the logs")
		}
	})

	t.Run("no API request or response body reaches the logs", func(t *testing.T) {
		// client-go logs bodies as hex dumps, which a plain search cannot see through.
		bodies := 0
		for line := range strings.SplitSeq(suiteLogs.String(), "\n") {
			if !strings.Contains(line, `"Request Body"`) &&
				!strings.Contains(line, `"Response Body"`) {
				continue
			}
			bodies++
			assert.Contains(t, line, logging.Redacted)
			assert.NotContains(t, line, "00000000", "a hex dump of a body is in the logs")
		}
		t.Logf("%d body log lines, all redacted", bodies)
	})
}

package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
}

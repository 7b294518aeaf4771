// Package logging keeps Secret data out of the logs of kuberos-registry. client-go logs the
// bodies of API requests and responses at verbosity 8 and up ("Request Body", "Response
// Body"); for the Secrets the webhook and controllers write, those bodies hold registry
// tokens. The sink here replaces every such body with its size, at every verbosity, so the
// highest log level stays safe to turn on.
package logging

import (
	"fmt"

	"github.com/go-logr/logr"
)

// bodyMessages are the messages under which client-go logs HTTP bodies.
var bodyMessages = map[string]bool{"Request Body": true, "Response Body": true}

// Redacted is what a logged body is replaced with, followed by its size.
const Redacted = "[redacted by kuberos-registry]"

// Redact returns a logger that never writes an API request or response body.
func Redact(log logr.Logger) logr.Logger {
	return logr.New(&redactingSink{sink: log.GetSink()})
}

type redactingSink struct {
	sink logr.LogSink
}

var (
	_ logr.LogSink          = &redactingSink{}
	_ logr.CallDepthLogSink = &redactingSink{}
)

func (s *redactingSink) Init(info logr.RuntimeInfo) {
	// One more frame: this sink sits between the caller and the real sink.
	info.CallDepth++
	s.sink.Init(info)
}

func (s *redactingSink) Enabled(level int) bool { return s.sink.Enabled(level) }

func (s *redactingSink) Info(level int, msg string, keysAndValues ...any) {
	if bodyMessages[msg] {
		keysAndValues = redactBody(keysAndValues)
	}
	s.sink.Info(level, msg, keysAndValues...)
}

func (s *redactingSink) Error(err error, msg string, keysAndValues ...any) {
	s.sink.Error(err, msg, keysAndValues...)
}

func (s *redactingSink) WithValues(keysAndValues ...any) logr.LogSink {
	return &redactingSink{sink: s.sink.WithValues(keysAndValues...)}
}

func (s *redactingSink) WithName(name string) logr.LogSink {
	return &redactingSink{sink: s.sink.WithName(name)}
}

func (s *redactingSink) WithCallDepth(depth int) logr.LogSink {
	if sink, ok := s.sink.(logr.CallDepthLogSink); ok {
		return &redactingSink{sink: sink.WithCallDepth(depth)}
	}
	return s
}

// redactBody replaces the value of the "body" key with its size.
func redactBody(keysAndValues []any) []any {
	out := make([]any, len(keysAndValues))
	copy(out, keysAndValues)
	for i := 0; i+1 < len(out); i += 2 {
		if key, ok := out[i].(string); ok && key == "body" {
			out[i+1] = fmt.Sprintf("%s (%d bytes)", Redacted, sizeOf(out[i+1]))
		}
	}
	return out
}

func sizeOf(v any) int {
	switch body := v.(type) {
	case string:
		return len(body)
	case []byte:
		return len(body)
	}
	return len(fmt.Sprint(v))
}

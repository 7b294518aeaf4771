package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Results of an admission, the values of the result label of contract.MetricAdmissions.
const (
	resultMutated   = "mutated"
	resultUnchanged = "unchanged"
	resultSkipped   = "skipped"
	resultDenied    = "denied"
	resultError     = "error"
)

var (
	admissions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: contract.MetricAdmissions,
		Help: "Pod admission requests handled, by result.",
	}, []string{"result"})
	secretsCopied = prometheus.NewCounter(prometheus.CounterOpts{
		Name: contract.MetricSecretsCopied,
		Help: "Copies of tokens created in workload namespaces by the webhook.",
	})
	secretsMissing = prometheus.NewCounter(prometheus.CounterOpts{
		Name: contract.MetricSecretsMissing,
		Help: "Pull secrets that existed nowhere when a Pod was admitted.",
	})
)

func init() {
	metrics.Registry.MustRegister(admissions, secretsCopied, secretsMissing)
}

package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

var (
	copies = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: contract.MetricCopies,
		Help: "Copies of each token in workload namespaces, as of the last sync of the token.",
	}, []string{"token"})
	syncErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: contract.MetricSyncErrors,
		Help: "Failures to bring a copy in step with its token.",
	}, []string{"token"})
)

func init() {
	metrics.Registry.MustRegister(copies, syncErrors)
}

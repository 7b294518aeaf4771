// Package controller holds the reconcilers of kuberos-registry. They run in the webhook
// binary on the elected leader only. The namespace reconciler keeps the inject label, which
// the webhook configuration selects on, equal to the inject annotation users write.
package controller

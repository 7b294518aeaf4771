// Package kuberos reads KubeROS deployment manifests (ApplicationDeployment and BatchJob) and
// builds ROSModule Pods the way KubeROS builds them, carrying the annotations of our contract
// that hand the manifest's containerRegistry list to the webhook. It reads only the fields the
// registry concerns; the rest of a manifest is KubeROS's business and is ignored.
package kuberos

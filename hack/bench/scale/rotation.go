package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Shape of rotation-1000.
const (
	rotationCopies   = 1000
	rotationDeadline = 2 * time.Minute
	// floorSecret is an unlabelled Secret in each namespace of the rotation, which the
	// floor updates directly; the system never sees it.
	floorSecret = "bench-floor"
	// floorWorkers is the floor's parallelism, that of the token controller's workers.
	floorWorkers = 4
)

// measureRotation rotates a token that has 1,000 copies and times until every copy holds
// the new data, polling the copies with a List by label. The floor is the API server alone:
// the same number of Secret updates sent straight from this program.
func measureRotation(ctx context.Context, b *bench, runs int) ([]*result, error) {
	source, err := b.fillCopies(ctx, rotationCopies, rotateToken)
	if err != nil {
		return nil, err
	}
	err = b.createSecrets(ctx, rotationCopies, func(ns string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: floorSecret, Namespace: ns},
			Data:       map[string][]byte{"value": []byte("0")},
		}
	})
	if err != nil {
		return nil, err
	}
	// The copies were made from the token's data: they are in step before the first run.
	if _, _, err := b.waitCopies(ctx, source.Data[corev1.DockerConfigJsonKey]); err != nil {
		return nil, err
	}

	res := &result{
		Measure:   "rotation-1000",
		Title:     "A token rotated with 1,000 copies: time until every copy is updated",
		Unit:      "s",
		Target:    "every copy updated within 10 s",
		FloorName: fmt.Sprintf("1,000 Secret updates sent directly, %d in parallel", floorWorkers),
	}
	var notes []string
	for run := range runs {
		order := []bool{true, false}
		if run%2 == 1 {
			order = []bool{false, true}
		}
		for _, ours := range order {
			if !ours {
				took, err := b.updateFloor(ctx, run)
				if err != nil {
					return nil, err
				}
				res.Floor = append(res.Floor, round(took.Seconds(), 2))
				continue
			}
			all, first, err := b.rotate(ctx)
			if err != nil {
				return nil, err
			}
			res.Ours = append(res.Ours, round(all.Seconds(), 2))
			notes = append(notes, fmt.Sprintf("run %d: first copy after %.2f s, all after "+
				"%.2f s", run+1, first.Seconds(), all.Seconds()))
		}
	}
	res.Pass = slices.Max(res.Ours) <= 10
	res.Notes = fmt.Sprintf("copies created directly with token.NewCopy in 1,000 opted-in "+
		"namespaces; the clock starts before the token's Update and stops when a List of the "+
		"copies by label, polled every 200 ms, shows the new data in all of them. %s.",
		strings.Join(notes, "; "))
	return []*result{res}, nil
}

// rotate gives the token new data and returns the time until every copy held it, and until
// the first one did.
func (b *bench) rotate(ctx context.Context) (time.Duration, time.Duration, error) {
	secret, err := b.kube.CoreV1().Secrets(storeNamespace).Get(ctx, rotateToken,
		metav1.GetOptions{})
	if err != nil {
		return 0, 0, err
	}
	data, err := dockerConfig()
	if err != nil {
		return 0, 0, err
	}
	secret.Data = map[string][]byte{corev1.DockerConfigJsonKey: data}
	started := time.Now()
	_, err = b.kube.CoreV1().Secrets(storeNamespace).Update(ctx, secret, metav1.UpdateOptions{})
	if err != nil {
		return 0, 0, fmt.Errorf("failed to rotate token %s: %w", rotateToken, err)
	}
	first, all, err := b.waitCopies(ctx, data)
	if err != nil {
		return 0, 0, err
	}
	return all.Sub(started), first.Sub(started), nil
}

// waitCopies polls the copies of the rotated token until all of them hold the data, and
// returns when the first and the last were seen doing so.
func (b *bench) waitCopies(ctx context.Context, data []byte) (time.Time, time.Time, error) {
	var first, all time.Time
	updated := 0
	selector := labelSelector(contract.MirrorLabels(rotateToken))
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, rotationDeadline, true,
		func(ctx context.Context) (bool, error) {
			list, err := b.kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx,
				metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return false, nil //nolint:nilerr // a failed poll is retried
			}
			updated = 0
			for _, copied := range list.Items {
				if bytes.Equal(copied.Data[corev1.DockerConfigJsonKey], data) {
					updated++
				}
			}
			now := time.Now()
			if updated > 0 && first.IsZero() {
				first = now
			}
			if updated >= rotationCopies {
				all = now
				return true, nil
			}
			return false, nil
		})
	if err != nil {
		return first, all, fmt.Errorf("%d of %d copies updated after %s: %w; webhook logs:\n%s",
			updated, rotationCopies, rotationDeadline, err, b.hook.tail())
	}
	return first, all, nil
}

// updateFloor updates the floor Secret of every namespace of the rotation and returns the
// wall time of the updates. They are read first, untimed, as the controller reads the copies
// from its cache.
func (b *bench) updateFloor(ctx context.Context, run int) (time.Duration, error) {
	list, err := b.kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=" + floorSecret,
	})
	if err != nil {
		return 0, fmt.Errorf("failed to list the floor Secrets: %w", err)
	}
	started := time.Now()
	failures, err := parallel(ctx, len(list.Items), floorWorkers,
		func(ctx context.Context, i int) error {
			secret := &list.Items[i]
			secret.Data = map[string][]byte{"value": fmt.Appendf(nil, "%d", run+1)}
			_, err := b.kube.CoreV1().Secrets(secret.Namespace).Update(ctx, secret,
				metav1.UpdateOptions{})
			return err
		})
	if failures > 0 {
		return 0, fmt.Errorf("%d floor updates failed, the first: %w", failures, err)
	}
	return time.Since(started), nil
}

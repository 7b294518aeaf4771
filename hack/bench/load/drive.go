package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

// runResult is what one run of one server measured.
type runResult struct {
	// latencies of the requests answered correctly, sorted.
	latencies []time.Duration
	// errors counts requests that failed, timed out or were answered wrongly.
	errors int
	// sent is the number of requests sent; rate is sent over the time sending took.
	sent int
	rate float64
	// firstError describes one error, for the notes.
	firstError string
}

// measurement is every run of both servers.
type measurement struct {
	ours, floor []runResult
}

// measure starts the servers, warms both up and runs them alternately.
func measure(ctx context.Context, cfg config) (measurement, error) {
	dir, err := os.MkdirTemp("", "kuberos-registry-load-")
	if err != nil {
		return measurement{}, fmt.Errorf("failed to create the certificate directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary directory; nothing to keep

	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	srv, err := startServers(srvCtx, dir)
	if err != nil {
		return measurement{}, err
	}
	body, err := reviewBody()
	if err != nil {
		return measurement{}, err
	}
	httpClient := newClient(srv.roots)
	ours := target{url: srv.oursURL, wantPatch: true}
	floor := target{url: srv.floorURL}

	for _, t := range []target{ours, floor} {
		warm := drive(ctx, httpClient, t, body, cfg.rate, cfg.warmup)
		if warm.errors > 0 {
			return measurement{}, fmt.Errorf("warm-up of %s failed %d times: %s",
				t.url, warm.errors, warm.firstError)
		}
	}

	var m measurement
	for i := range cfg.runs {
		if ctx.Err() != nil {
			return measurement{}, ctx.Err()
		}
		o := drive(ctx, httpClient, ours, body, cfg.rate, cfg.duration)
		f := drive(ctx, httpClient, floor, body, cfg.rate, cfg.duration)
		m.ours = append(m.ours, o)
		m.floor = append(m.floor, f)
		fmt.Printf("run %d: ours p99 %s (%d errors), floor p99 %s (%d errors)\n", i+1,
			percentile(o.latencies, 0.99), o.errors, percentile(f.latencies, 0.99), f.errors)
	}
	return m, nil
}

// target is a server and what a correct answer of it holds.
type target struct {
	url       string
	wantPatch bool
}

// drive sends requests open-loop: request i is due at start + i/rate whatever happened to the
// ones before, and its latency is counted from when it was due, so that a stall of the server
// shows in the latencies instead of slowing the sender down (coordinated omission).
func drive(
	ctx context.Context,
	httpClient *http.Client,
	t target,
	body []byte,
	rate int,
	duration time.Duration,
) runResult {
	total := int(duration.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	latencies := make([]time.Duration, total)
	failures := make([]error, total)

	var wg sync.WaitGroup
	start := time.Now()
	sent := 0
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		wg.Go(func() {
			failures[i] = call(ctx, httpClient, t, body)
			latencies[i] = time.Since(due)
		})
	}
	sending := time.Since(start)
	wg.Wait()

	result := runResult{sent: sent, rate: float64(sent) / sending.Seconds()}
	for i := range sent {
		if failures[i] != nil {
			if result.errors == 0 {
				result.firstError = failures[i].Error()
			}
			result.errors++
			continue
		}
		result.latencies = append(result.latencies, latencies[i])
	}
	sort.Slice(result.latencies, func(a, b int) bool {
		return result.latencies[a] < result.latencies[b]
	})
	return result
}

// call sends one review and checks the answer: allowed, for the review's UID, and with a
// JSON patch when the target patches.
func call(ctx context.Context, httpClient *http.Client, t target, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // the body was read in full below
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("failed to read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	var review struct {
		Response *struct {
			UID     string `json:"uid"`
			Allowed bool   `json:"allowed"`
			Patch   []byte `json:"patch"`
		} `json:"response"`
	}
	if err := json.Unmarshal(data, &review); err != nil {
		return fmt.Errorf("failed to decode the answer: %w", err)
	}
	switch {
	case review.Response == nil || review.Response.UID != "load-request":
		return fmt.Errorf("the answer is not for the request")
	case !review.Response.Allowed:
		return fmt.Errorf("the Pod was not allowed")
	case t.wantPatch && len(review.Response.Patch) == 0:
		return fmt.Errorf("the Pod was not patched")
	}
	return nil
}

// percentile of sorted latencies by the nearest-rank method; 0 when there are none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

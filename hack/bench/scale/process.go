package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// webhookProcess is a running webhook binary whose output goes to a file.
type webhookProcess struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error
}

func startWebhook(binary, logPath string, env []string, args ...string) (*webhookProcess, error) {
	logs, err := os.Create(logPath) //nolint:gosec // a file in the benchmark's temp directory
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...) //nolint:gosec // the binary this program built
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		_ = logs.Close() // nothing was written
		return nil, fmt.Errorf("failed to start the webhook binary: %w", err)
	}
	p := &webhookProcess{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logs.Close() // the process is gone; its output is complete
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls /readyz until it answers 200.
func (p *webhookProcess) waitReady(
	ctx context.Context,
	healthPort int,
	timeout time.Duration,
) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort)
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true,
		func(context.Context) (bool, error) {
			select {
			case <-p.exited:
				return false, fmt.Errorf("the webhook exited: %w", p.err)
			default:
			}
			return httpStatus(url) == http.StatusOK, nil
		})
	if err != nil {
		return fmt.Errorf("the webhook never became ready: %w; logs:\n%s", err, p.tail())
	}
	return nil
}

// stop sends SIGTERM and waits for the exit, killing the process after 15 s.
func (p *webhookProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // an exited process needs no signal
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill() // it ignored SIGTERM: the result is the same
		<-p.exited
	}
}

// memory reads the resident set size and its peak from /proc, in MiB.
func (p *webhookProcess) memory() (rss, peak float64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("failed to read the webhook's memory: %w", err)
	}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 2 {
			continue
		}
		kib, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "VmRSS:":
			rss = kib / 1024
		case "VmHWM:":
			peak = kib / 1024
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
	}
	return rss, peak, nil
}

// tail returns the last lines of the webhook's output, for error messages. The binary logs
// through a redacting sink and never logs token data.
func (p *webhookProcess) tail() string {
	if p == nil {
		return "(not started)"
	}
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-20, 0):], "\n")
}

func httpStatus(url string) int {
	resp, err := http.Get(url) //nolint:gosec,noctx // a local URL this program built
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }() // the status is all that is read
	return resp.StatusCode
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }() // the port is handed to the webhook
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeServingCert writes a CA (ca.crt) and a serving certificate for 127.0.0.1 signed by
// it (tls.crt, tls.key) into the directory. The API server trusts the CA through the
// webhook configuration's caBundle.
func writeServingCert(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kuberos-registry-bench-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey,
		caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kuberos-registry-webhook"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	files := map[string]*pem.Block{
		"ca.crt":  {Type: "CERTIFICATE", Bytes: caDER},
		"tls.crt": {Type: "CERTIFICATE", Bytes: der},
		"tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	}
	for name, block := range files {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block),
			0o600); err != nil {
			return err
		}
	}
	return nil
}

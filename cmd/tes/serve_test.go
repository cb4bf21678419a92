package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tes-project/tes/store/boltstore"
)

// lockedBuffer collects a server's log while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a tes serve started by a test.
type running struct {
	log      *lockedBuffer
	signals  chan os.Signal
	exit     chan int
	gateway  string // host:port
	admin    string
	dataFile string
}

// startServe runs tes serve with args on loopback ports of its own and
// waits until it serves.
func startServe(t *testing.T, args ...string) *running {
	t.Helper()
	data := t.TempDir()
	r := &running{log: &lockedBuffer{}, signals: make(chan os.Signal, 1), exit: make(chan int, 1), dataFile: filepath.Join(data, storeFile)}
	// No --issuers: a given folder must exist, and ./issuers does not
	// exist here, so the built-in issuers serve (and, without ./keys, the
	// built-in DEMOAES test keys).
	t.Setenv("TES_ISSUERS", "")
	t.Setenv("TES_KEYS", "")
	args = append([]string{"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data", data}, args...)
	go func() { r.exit <- runServe(context.Background(), args, io.Discard, r.log, r.signals) }()
	t.Cleanup(func() {
		select {
		case r.signals <- syscall.SIGTERM:
			<-r.exit
		case <-r.exit:
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(r.log.String(), "\n") {
			var entry struct {
				Msg, Gateway, Admin string
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "tes serving" {
				r.gateway, r.admin = entry.Gateway, entry.Admin
				return r
			}
		}
		select {
		case code := <-r.exit:
			r.exit <- code // for the cleanup, which would wait for it
			t.Fatalf("tes serve exited %d:\n%s", code, r.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("tes serve did not start:\n%s", r.log)
	return nil
}

// stop sends sig and returns the exit code.
func (r *running) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	r.signals <- sig
	select {
	case code := <-r.exit:
		r.exit <- code // for the cleanup
		return code
	case <-time.After(20 * time.Second):
		t.Fatalf("tes serve did not stop:\n%s", r.log)
		return -1
	}
}

func postGateway(t *testing.T, client *http.Client, url, actor, body string) (int, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/tes/devicegtwapi/1/0/getCardCommands", strings.NewReader(body))
	req.Header.Set("x-actor-id", actor)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var reply struct {
		ResponseHeader struct {
			StatusCode int `json:"statusCode"`
		} `json:"responseHeader"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		t.Fatalf("reply: %v", err)
	}
	return resp.StatusCode, reply.ResponseHeader.StatusCode
}

func TestServeLifecycle(t *testing.T) {
	t.Setenv("TES_ADMIN_TOKEN", "from-env")
	t.Setenv("TES_ACTORS", "ignored-because-the-flag-wins")
	r := startServe(t, "--actors", "tsh-a, tsh-b")
	gw := "http://" + r.gateway

	const read = `{"issuerId":"DEMO","cardId":"NO-SUCH-CARD","deviceId":"DEV-1"}`
	if httpCode, code := postGateway(t, http.DefaultClient, gw, "tsh-b", read); httpCode != 200 || code != 119 {
		t.Errorf("READ of an unknown card on the embedded DEMO: HTTP %d, status %d", httpCode, code)
	}
	if _, code := postGateway(t, http.DefaultClient, gw, "ignored-because-the-flag-wins", read); code != 112 {
		t.Errorf("actor off the allowlist: status %d", code)
	}
	if _, code := postGateway(t, http.DefaultClient, gw, "tsh-a", `{"issuerId":"NOPE","cardId":"C","deviceId":"D"}`); code != 113 {
		t.Errorf("unknown issuer: status %d", code)
	}

	req, _ := http.NewRequest(http.MethodGet, "http://"+r.admin+"/admin/v1/issuers", nil)
	req.Header.Set("Authorization", "Bearer from-env")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var issuers []struct {
		IssuerID, Version, Error string
	}
	_ = json.NewDecoder(resp.Body).Decode(&issuers)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(issuers) != 2 || issuers[0].IssuerID != "DEMO" || issuers[1].IssuerID != "DEMOAES" || issuers[0].Version == "" || issuers[0].Error != "" {
		t.Errorf("issuers with the token from TES_ADMIN_TOKEN: HTTP %d %+v", resp.StatusCode, issuers)
	}
	if strings.Contains(r.log.String(), "from-env") {
		t.Error("the admin token is in the log")
	}

	r.signals <- syscall.SIGHUP
	waitFor(t, r.log, `"msg":"SIGHUP: reloading issuers"`)
	req, _ = http.NewRequest(http.MethodGet, "http://"+r.admin+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer from-env")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	exposition, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(exposition), `tes_issuer_reloads_total{issuer="DEMO",result="loaded"} 1`) {
		t.Errorf("metrics do not count the DEMO issuer's load:\n%s", exposition)
	}

	if code := r.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, r.log)
	}
	// The store was closed: its lock is free.
	st, err := boltstore.Open(r.dataFile, boltstore.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("store after shutdown: %v", err)
	}
	_ = st.Close()
	if _, err := http.Get(gw + "/healthz"); err == nil {
		t.Error("the gateway still accepts connections after shutdown")
	}
}

func waitFor(t *testing.T, log *lockedBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the log:\n%s", text, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "tes test CA", true)
	serverCert, serverKey := newCert(t, ca, caKey, "127.0.0.1", false)
	clientCert, clientKey := newCert(t, ca, caKey, "tsh", false)
	files := map[string][]byte{
		"ca.pem":         pemOf("CERTIFICATE", ca.Raw),
		"server.pem":     pemOf("CERTIFICATE", serverCert.Raw),
		"server-key.pem": keyPEM(t, serverKey),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := startServe(t, "--tls-cert", filepath.Join(dir, "server.pem"), "--tls-key", filepath.Join(dir, "server-key.pem"),
		"--client-ca", filepath.Join(dir, "ca.pem"))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	url := "https://" + r.gateway
	body := `{"issuerId":"NOPE","cardId":"C","deviceId":"D"}`

	anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	req, _ := http.NewRequest(http.MethodPost, url+"/tes/devicegtwapi/1/0/getCardCommands", strings.NewReader(body))
	if resp, err := anonymous.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a client without a certificate was served")
	}
	if resp, err := http.Post("http://"+r.gateway+"/tes/devicegtwapi/1/0/getCardCommands", "application/json", strings.NewReader(body)); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was served on the TLS port")
		}
		resp.Body.Close()
	}

	pair := tls.Certificate{Certificate: [][]byte{clientCert.Raw}, PrivateKey: clientKey}
	authed := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}}}
	if httpCode, code := postGateway(t, authed, url, "tsh", body); httpCode != 200 || code != 113 {
		t.Fatalf("client with a certificate: HTTP %d, status %d", httpCode, code)
	}
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	signer, signerKey := tmpl, key
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func pemOf(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

func keyPEM(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("EC PRIVATE KEY", der)
}

func TestServeBadUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--port", "8080"}, "flag provided but not defined"},
		{"cert without key", []string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{"client CA without TLS", []string{"--client-ca", "ca.pem"}, "--client-ca needs"},
		{"bad log level", []string{"--log-level", "loud"}, "--log-level"},
		{"stray argument", []string{"now"}, "unexpected arguments"},
		{"store of another kind", []string{"--store", "mysql://h/db"}, "--store: want empty"},
		{"mistyped issuers", []string{"--issuers", "/nonexistent/issuerz"}, "--issuers /nonexistent/issuerz: stat"},
		{"issuers a file", []string{"--issuers", "serve_test.go"}, "--issuers serve_test.go: not a folder"},
		{"no step memory", []string{"--step-memory", "0"}, "--step-memory"},
		{"mistyped keys", []string{"--keys", "/nonexistent/keyz"}, "--keys /nonexistent/keyz: stat"},
		{"keys a file", []string{"--keys", "serve_test.go"}, "--keys serve_test.go: not a folder"},
		{"shared store and keys without a seal key", []string{"--store", "postgres://h/db", "--keys", "."}, "needs --seal-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := runServe(context.Background(), tt.args, io.Discard, &stderr, nil); code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

// TestServeIssuersFromEnvMustExist: TES_ISSUERS names the folder as the
// flag does, and a missing one stops the start too.
func TestServeIssuersFromEnvMustExist(t *testing.T) {
	t.Setenv("TES_ISSUERS", "/nonexistent/from-env")
	var stderr bytes.Buffer
	if code := runServe(context.Background(), nil, io.Discard, &stderr, nil); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if want := "--issuers /nonexistent/from-env"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
}

func TestServeFailsOnALockedStore(t *testing.T) {
	data := t.TempDir()
	st, err := boltstore.Open(filepath.Join(data, storeFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var stderr bytes.Buffer
	code := runServe(context.Background(), []string{"--data", data, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, io.Discard, &stderr, nil)
	if code != exitFail || !strings.Contains(stderr.String(), "locked") {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
}

func TestApplyEnv(t *testing.T) {
	var cfg serveConfig
	fs := serveFlags(&cfg)
	if err := fs.Parse([]string{"--addr", ":9000"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TES_ADDR": ":7000", "TES_ADMIN_ADDR": "127.0.0.1:7001", "TES_TLS_CERT": "c.pem", "TES_CLIENT_CA": "ca.pem"}
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if cfg.addr != ":9000" || cfg.adminAddr != "127.0.0.1:7001" || cfg.tlsCert != "c.pem" || cfg.clientCA != "ca.pem" || cfg.data != "./data" {
		t.Errorf("got %+v", cfg)
	}
	for flagName, want := range map[string]string{"admin-addr": "TES_ADMIN_ADDR", "tls-key": "TES_TLS_KEY", "log-level": "TES_LOG_LEVEL", "data": "TES_DATA"} {
		if got := envName(flagName); got != want {
			t.Errorf("envName(%q) = %q, want %q", flagName, got, want)
		}
	}
	bad := flag.NewFlagSet("x", flag.ContinueOnError)
	bad.Int("n", 0, "")
	if err := applyEnv(bad, func(string) string { return "many" }); err == nil || !strings.Contains(err.Error(), "TES_N") {
		t.Errorf("a bad value from the environment: %v", err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"--help"}, {"help"}, {"-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d", args, code)
		}
		if !strings.Contains(stderr.String(), "Usage: tes <command>") || stdout.Len() != 0 {
			t.Errorf("%q: usage not on stderr: %q / %q", args, stdout.String(), stderr.String())
		}
	}
}

func TestCheck(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// Success prints one summary line only.
	if code := runCheck([]string{"--issuers", "../../issuers"}, &stdout, &stderr); code != exitOK ||
		!strings.HasPrefix(stdout.String(), "ok: ") || strings.Count(stdout.String(), "\n") != 1 {
		t.Fatalf("the shipped issuers: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "BAD"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "BAD", "issuer.yaml"), []byte("id: [unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	t.Setenv("TES_ISSUERS", dir)
	if code := runCheck(nil, &stdout, &stderr); code != exitFail {
		t.Fatalf("a broken issuer from TES_ISSUERS: exit %d\n%s", code, stdout.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	for _, line := range lines {
		if !strings.HasPrefix(line, "BAD") || !strings.Contains(line, ": ") {
			t.Errorf("problem line %q is not file:line: message", line)
		}
	}
}

// A signal that comes as soon as the server says it serves must still stop
// it: fiber's Shutdown alone misses a listener fasthttp has not registered yet.
func TestServeStopsRightAfterStart(t *testing.T) {
	for range 5 {
		r := startServe(t)
		if code := r.stop(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit %d after an immediate SIGTERM:\n%s", code, r.log)
		}
	}
}

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// services in start order; they are stopped in reverse order, gateway first,
// so that no new work arrives while the others drain.
var services = []string{"auth", "worker", "query", "ingest", "gateway"}

// Bounds on the life cycle of the platform.
const (
	readyTimeout = 90 * time.Second
	// stopTimeout covers AGENTTRACE_DRAIN_DELAY plus the graceful drain.
	stopTimeout = 30 * time.Second
	// maxBodyBytes is the gateway's request body limit in this test.
	maxBodyBytes = 1 << 20
	// maxBatch is ingest's limit on the events of one call in this test.
	maxBatch = 500
)

// addrs are where one service listens.
type addrs struct {
	grpc  string
	admin string
	http  string // gateway only: REST and OTLP/HTTP
	otlp  string // ingest only: OTLP/gRPC (its default, 4317, is shared by every ingest on the machine)
}

// stack is the running platform of one test run.
type stack struct {
	dir  string // binaries and logs
	iso  isolation
	addr map[string]addrs
	// Secrets of the installation, random per run.
	jwtSecret     string
	encryptionKey string
	// redisPrefix namespaces the run's rate-limit keys in the shared Redis.
	redisPrefix string

	// first is the result of the installation's first signup, made before
	// any test runs (see firstSignup).
	first firstSignup

	mu    sync.Mutex
	procs []*proc
}

// proc is one running service process.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error
}

func newStack(ctx context.Context) (*stack, error) {
	if err := checkDependencies(ctx); err != nil {
		return nil, err
	}
	suffix := randomHex(6)
	dir, err := os.MkdirTemp("", "agenttrace-e2e-")
	if err != nil {
		return nil, err
	}
	s := &stack{
		dir: dir, iso: newIsolation(suffix), addr: map[string]addrs{},
		jwtSecret:     randomHex(32),                                      // 64 bytes
		encryptionKey: base64.StdEncoding.EncodeToString(randomBytes(32)), // AES-256
		redisPrefix:   "agenttrace-e2e-" + suffix + ":",
	}
	secrets.add(secretJWT, s.jwtSecret)
	secrets.add(secretEncryptionKey, s.encryptionKey)

	if err := s.build(ctx); err != nil {
		return s, err
	}
	ports := freeAddrs(2*len(services) + 2)
	for i, name := range services {
		s.addr[name] = addrs{grpc: ports[2*i], admin: ports[2*i+1]}
	}
	gw, in := s.addr["gateway"], s.addr["ingest"]
	gw.http, in.otlp = ports[len(ports)-1], ports[len(ports)-2]
	s.addr["gateway"], s.addr["ingest"] = gw, in
	for _, cmd := range [][]string{{"auth", "migrate", "up"}, {"worker", "migrate", "up"}} {
		if _, err := s.command(ctx, cmd[0], cmd[1:]...); err != nil {
			return s, err
		}
	}
	for _, name := range services {
		if _, err := s.start(name, s.serviceEnv(name)); err != nil {
			return s, err
		}
	}
	for _, name := range services {
		if err := s.waitReady(ctx, name, s.addr[name].admin); err != nil {
			return s, err
		}
	}
	return s, nil
}

// build compiles each service the way a release would: from its own module,
// outside the workspace. Under go test -race the services get the race
// detector too (scanLogsForRaces reads its reports).
func (s *stack) build(ctx context.Context) error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	args := []string{"build"}
	if raceEnabled {
		args = append(args, "-race")
	}
	for _, name := range services {
		cmd := exec.CommandContext(ctx, "go", append(args, "-o", s.binary(name), "./cmd/"+name)...)
		cmd.Dir = filepath.Join(root, "services", name)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", name, err, out)
		}
	}
	return nil
}

func (s *stack) binary(name string) string { return filepath.Join(s.dir, "agenttrace-"+name) }

// commonEnv is what every process of this run gets, whatever its role.
func (s *stack) commonEnv() []string {
	return []string{
		"AGENTTRACE_LOG_LEVEL=debug",
		"AGENTTRACE_LOG_FORMAT=text",
		"AGENTTRACE_DRAIN_DELAY=200ms",
		"AGENTTRACE_SHUTDOWN_TIMEOUT=20s",
		"AGENTTRACE_POSTGRES_URL=" + s.iso.postgresURL(),
		"AGENTTRACE_CLICKHOUSE_ADDR=" + clickhouseServer,
		"AGENTTRACE_CLICKHOUSE_DATABASE=" + s.iso.clickhouseDB,
		"AGENTTRACE_NATS_URL=" + natsServer,
		"AGENTTRACE_NATS_NAMESPACE=" + s.iso.natsNS,
		"AGENTTRACE_AUTH_ADDR=" + s.addr["auth"].grpc,
		"AGENTTRACE_INGEST_ADDR=" + s.addr["ingest"].grpc,
		"AGENTTRACE_QUERY_ADDR=" + s.addr["query"].grpc,
		"AGENTTRACE_JWT_SECRET=" + s.jwtSecret,
		"AGENTTRACE_REDIS_ADDR=" + redisServer,
		"AGENTTRACE_RATELIMIT_KEY_PREFIX=" + s.redisPrefix,
		// The platform's limits are far above what the tests send, which
		// check every answer; TestRateLimit runs its own small limits.
		"AGENTTRACE_RATELIMIT_INGEST_PROJECT_RATE=100000",
		"AGENTTRACE_RATELIMIT_INGEST_KEY_RATE=100000",
		"AGENTTRACE_RATELIMIT_QUERY_PROJECT_RATE=100000",
		"AGENTTRACE_RATELIMIT_QUERY_KEY_RATE=100000",
	}
}

// authEnv is what the auth binary needs on top of commonEnv: only auth
// stores secrets, so only auth gets the key that encrypts them.
func (s *stack) authEnv() []string {
	return []string{
		"AGENTTRACE_ENCRYPTION_KEY=" + s.encryptionKey,
		fmt.Sprintf("AGENTTRACE_LOGIN_ACCOUNT_ATTEMPTS=%d", loginAccountAttempts),
	}
}

// serviceEnv is the environment of one service of the main platform.
func (s *stack) serviceEnv(name string) []string {
	a := s.addr[name]
	env := append(s.commonEnv(), "AGENTTRACE_GRPC_ADDR="+a.grpc, "AGENTTRACE_ADMIN_ADDR="+a.admin)
	switch name {
	case "gateway":
		env = append(env,
			"AGENTTRACE_HTTP_ADDR="+a.http,
			fmt.Sprintf("AGENTTRACE_GATEWAY_MAX_BODY_BYTES=%d", maxBodyBytes))
	case "ingest":
		env = append(env, fmt.Sprintf("AGENTTRACE_INGEST_MAX_BATCH=%d", maxBatch), "AGENTTRACE_OTLP_GRPC_ADDR="+a.otlp)
	case "auth":
		env = append(env, s.authEnv()...)
	case "worker":
		// Flush often so the test sees rows quickly; correctness must not
		// depend on it.
		env = append(env, "AGENTTRACE_WORKER_FLUSH_INTERVAL=200ms",
			"AGENTTRACE_WORKER_RETENTION_INTERVAL="+retentionInterval.String())
	}
	return env
}

// processEnv is the parent environment without any AGENTTRACE_ variable
// (a developer's shell must not leak into the run), plus env.
func processEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AGENTTRACE_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// command runs a one-shot subcommand of a service binary (migrate, bootstrap)
// and returns its stdout. Its stderr (the log) is appended to commands.log,
// which the secret scan reads too; stdout may carry a secret by design
// (bootstrap prints the new key) and is not kept.
func (s *stack) command(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.binary(name), args...)
	env := s.commonEnv()
	if name == "auth" {
		env = append(env, s.authEnv()...)
	}
	cmd.Env = processEnv(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	s.appendCommandLog(name, args, stderr.Bytes())
	if err != nil {
		return nil, fmt.Errorf("agenttrace-%s %s: %w\nstderr:\n%s", name, strings.Join(args, " "), err, secrets.redact(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// commandLog collects the stderr of every one-shot command of the run.
func (s *stack) commandLog() string { return filepath.Join(s.dir, "commands.log") }

func (s *stack) appendCommandLog(name string, args []string, stderr []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.commandLog(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: command log:", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "==== agenttrace-%s %s\n%s", name, strings.Join(args, " "), stderr)
}

// logs lists every log file of the run: each process's and the commands'.
func (s *stack) logs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.procs {
		out = append(out, p.logPath)
	}
	if _, err := os.Stat(s.commandLog()); err == nil {
		out = append(out, s.commandLog())
	}
	return out
}

// start launches a service process; its output goes to <dir>/<label>.log.
func (s *stack) start(label string, env []string) (*proc, error) {
	name, _, _ := strings.Cut(label, "-") // "ingest-deadnats" runs the ingest binary
	logPath := filepath.Join(s.dir, label+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.binary(name))
	cmd.Env = processEnv(env)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", label, err)
	}
	p := &proc{name: label, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

func (s *stack) proc(label string) *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		if p.name == label {
			return p
		}
	}
	return nil
}

// waitReady polls the admin /ready endpoint until it answers 200.
func (s *stack) waitReady(ctx context.Context, label, adminAddr string) error {
	p := s.proc(label)
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	last := "no answer"
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready: %w", label, p.exitErr())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %s", label, readyTimeout, last)
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get("http://" + adminAddr + "/ready")
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
	}
}

// exitErr is how the exited process ended, an error even for exit status 0:
// a service is not meant to exit by itself.
func (p *proc) exitErr() error {
	if p.waitErr == nil {
		return errors.New("exit status 0")
	}
	return p.waitErr
}

// stop sends SIGTERM and checks that the process drains and exits 0 in time.
func (p *proc) stop() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s had already exited: %w", p.name, p.exitErr())
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("%s did not exit cleanly after SIGTERM: %w", p.name, p.waitErr)
		}
		return nil
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s still running %s after SIGTERM; killed", p.name, stopTimeout)
	}
}

// stopAll stops every process still running, newest first.
func (s *stack) stopAll() error {
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		select {
		case <-p.done: // stopped (and checked) by the test that started it
			continue
		default:
		}
		if err := p.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// teardown kills whatever still runs and drops the run's databases and streams.
func (s *stack) teardown(ctx context.Context) {
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	for _, p := range procs {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	if err := s.iso.drop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e teardown:", err)
	}
}

// dumpLogs prints the tail of every process log, for a failed run, with
// the run's secrets redacted.
func (s *stack) dumpLogs(w io.Writer) {
	const tailLines = 150
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	for _, p := range procs {
		data, err := os.ReadFile(p.logPath)
		if err != nil {
			fmt.Fprintf(w, "=== %s: %v\n", p.name, err)
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > tailLines {
			lines = lines[len(lines)-tailLines:]
		}
		// Redacted: a run that failed because a secret leaked into a log
		// must not print the secret.
		fmt.Fprintf(w, "=== %s (last %d lines of %s)\n%s\n", p.name, len(lines), p.logPath, secrets.redact(strings.Join(lines, "\n")))
	}
}

// keepLogsOnly removes the binaries of a failed run (they are large and
// reproducible) and says where its logs are.
func (s *stack) keepLogsOnly() {
	for _, name := range services {
		os.Remove(s.binary(name))
	}
	if logs, _ := filepath.Glob(filepath.Join(s.dir, "*.log")); len(logs) == 0 {
		os.RemoveAll(s.dir)
		return
	}
	fmt.Fprintln(os.Stderr, "e2e: service logs kept in", s.dir)
}

// freeAddrs picks n distinct free loopback ports: all are held open until
// every one is chosen, so the kernel cannot hand out one twice. Another
// process could take a port before the service binds it; on this scale that
// is rare enough not to guard.
func freeAddrs(n int) []string {
	out := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(fmt.Sprintf("no free port: %v", err))
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

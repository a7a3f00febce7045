// Package pgtest starts a throwaway PostgreSQL server for tests: initdb in a
// temporary directory (as the postgres user when run as root), a unix socket
// directory, a random TCP port on 127.0.0.1 with password authentication,
// and a fresh database per test.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// then pgtest.DSN(t) in a test returns the URL of a new, empty database
// (the test is skipped, with the reason, when no server could be started).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Password is the superuser's password on TCP connections.
const Password = "s3cret-Pg-pw"

// Server is a running throwaway PostgreSQL.
type Server struct {
	Dir     string // the temporary directory holding everything
	Data    string // the data directory
	Sockets string // the unix socket directory
	Port    int
	bin     string // the directory of initdb, pg_ctl and postgres
	asUser  string // run the server's commands as this user ("" for ourselves)
	user    string // the database superuser
	mu      sync.Mutex
}

var (
	shared    *Server
	sharedErr error
)

// Main starts one server for the test package, runs m and stops the
// server. Without a usable PostgreSQL the tests that need it skip.
func Main(m *testing.M) int {
	if os.Getenv("GOLIVE_PGTEST") != "off" {
		shared, sharedErr = Start()
	} else {
		sharedErr = errors.New("GOLIVE_PGTEST=off")
	}
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// Shared returns the package's server, skipping t when there is none.
func Shared(t testing.TB) *Server {
	t.Helper()
	if shared == nil {
		if sharedErr == nil {
			sharedErr = errors.New("pgtest.Main was not called from TestMain")
		}
		t.Skipf("no PostgreSQL for this test: %v", sharedErr)
	}
	return shared
}

// DSN creates a fresh database on the package's server for t (dropped when
// t ends) and returns its URL (TCP, with the password).
func DSN(t testing.TB) string {
	t.Helper()
	return Shared(t).NewDatabase(t)
}

// binDir finds PostgreSQL's server programs.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's server programs (initdb, pg_ctl) are not installed: apt-get install postgresql")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Start initialises and starts a new server.
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, errors.New("running as root and there is no postgres user to run PostgreSQL as")
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, errors.New("running as root and runuser is missing")
		}
		s.asUser, s.user = "postgres", "postgres"
	} else {
		u, err := user.Current()
		if err != nil {
			return nil, err
		}
		s.user = u.Username
	}
	if s.Dir, err = os.MkdirTemp("", "golive-pgtest-"); err != nil {
		return nil, err
	}
	// Every directory above the data directory must be traversable by
	// the postgres user.
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return nil, err
	}
	s.Data, s.Sockets = filepath.Join(s.Dir, "data"), filepath.Join(s.Dir, "sock")
	pwfile := filepath.Join(s.Dir, "pw")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Mkdir(s.Sockets, 0o755); err != nil {
		return nil, err
	}
	if err := s.chown(s.Dir, s.Sockets); err != nil {
		s.cleanup()
		return nil, err
	}
	out, err := s.cmd("initdb", "-D", s.Data, "-U", s.user, "--pwfile", pwfile, "-A", "scram-sha-256",
		"--auth-local", "trust", "-E", "UTF8", "--locale", "C", "--no-sync").CombinedOutput()
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLines(out))
	}
	if err := s.start(); err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

// chown gives the directories to the server's user.
func (s *Server) chown(dirs ...string) error {
	if s.asUser == "" {
		return nil
	}
	u, err := user.Lookup(s.asUser)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range dirs {
		if err := os.Chown(d, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) cmd(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, prog)
	if s.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// start starts the server on a new random port and waits until it
// accepts connections.
func (s *Server) start() error {
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", port, s.Sockets)
		out, err := s.cmd("pg_ctl", "-D", s.Data, "-l", filepath.Join(s.Data, "server.log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			s.Port = port
			return nil
		}
		log, _ := os.ReadFile(filepath.Join(s.Data, "server.log"))
		lastErr = fmt.Errorf("pg_ctl start: %v: %s %s", err, lastLines(out), lastLines(log))
	}
	return lastErr
}

// Restart stops the server (immediate mode: like a crash, connections
// cut) and starts it again on the same port.
func (s *Server) Restart() error {
	if err := s.Down(); err != nil {
		return err
	}
	return s.Up()
}

// Down stops the server in immediate mode (like a crash: every connection
// cut, nothing flushed politely); Up starts it again.
func (s *Server) Down() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if out, err := s.cmd("pg_ctl", "-D", s.Data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, lastLines(out))
	}
	return nil
}

// Up starts the server stopped by Down on the same port.
func (s *Server) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", s.Port, s.Sockets)
	var err error
	for range 20 { // the port may take a moment to be free again
		var out []byte
		out, err = s.cmd("pg_ctl", "-D", s.Data, "-l", filepath.Join(s.Data, "server.log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			return nil
		}
		err = fmt.Errorf("pg_ctl start: %v: %s", err, lastLines(out))
		time.Sleep(250 * time.Millisecond)
	}
	return err
}

// Stop stops the server and removes its directory.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.cmd("pg_ctl", "-D", s.Data, "-m", "immediate", "-w", "stop").Run()
	s.cleanup()
}

func (s *Server) cleanup() { _ = os.RemoveAll(s.Dir) }

// URL returns the URL of database db over TCP with the password.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", s.user, Password, s.Port, db)
}

// SocketURL returns the URL of database db over the unix socket.
func (s *Server) SocketURL(db string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d", s.user, db, s.Sockets, s.Port)
}

// NewDatabase creates an empty database for t, dropped when t ends, and
// returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	if err := s.admin(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		_ = s.admin(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return s.URL(name)
}

// admin runs one statement on the postgres database over the socket.
func (s *Server) admin(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.SocketURL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

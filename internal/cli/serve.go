package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/server"
	"github.com/golive-dev/golive/internal/store"
)

func newServe(e *env) *cobra.Command {
	var f runFlags
	var cfg server.Config
	var tokens string
	var heartbeat, leaseTTL time.Duration
	c := &cobra.Command{
		Use:   "serve [flags] PLAN_OR_DIR...",
		Short: "Serve the HTTP API: runs started, approved and watched by a team",
		Long: `Serve makes golive a service (docs/server.md): the API under /api/v1
for the plans given (plan files, or directories whose golive.yaml and
*.golive.yaml files, in them and one level below, are plans), with API
tokens and roles from --tokens. Runs execute in the server and are
watched live over server-sent events; the CLI sees and acts on the same
runs in the same stores.

It binds 127.0.0.1:7070 by default. Another address needs --tls-cert and
--tls-key, or --insecure-http, and --tokens. Without --tokens the server
is read-only. SIGHUP finds the plans again and reads the tokens file
again (a malformed file keeps the tokens known); SIGTERM or SIGINT stops it:
runs executing reach their next journal point and are left paused,
holding their lock, for the next server or ` + "`golive resume`" + `.`,
		Args: argsNamed(1, -1, "PLAN_OR_DIR... (plan files or directories)"),
		RunE: func(c *cobra.Command, args []string) error {
			e.intr.handOver() // this command handles its own signals
			log := slog.New(slog.NewTextHandler(e.stdio.Err, &slog.HandlerOptions{Level: slog.LevelInfo}))
			if tokens != "" {
				ts, err := server.LoadTokens(tokens, e.getenv)
				if err != nil {
					return withCode(ExitUsage, "--tokens: %s", err)
				}
				cfg.Tokens = ts
			}
			if err := checkLeaseFlags(heartbeat, leaseTTL); err != nil {
				return err
			}
			cfg.Paths, cfg.Logger, cfg.Service = args, log, e.service(&f)
			cfg.Service.Logger = log
			cfg.Service.Heartbeat, cfg.Service.LeaseTTL = heartbeat, leaseTTL
			cfg.Report = func(ctx context.Context, file string, st store.Store, r store.Run) (any, func(io.Writer), error) {
				rf := runFlags{}
				rf.file = file
				rep, err := buildReport(ctx, st, r, &rf)
				if err != nil {
					return nil, nil, err
				}
				return rep, rep.markdown, nil
			}
			cfg.Ready = func(addr string) {
				scheme := "http"
				if cfg.TLSCert != "" {
					scheme = "https"
				}
				log.Info("serving", "url", scheme+"://"+addr, "plans", len(args))
			}
			s, err := server.New(cfg)
			if err != nil {
				return withCode(ExitUsage, "%s", err)
			}
			for _, p := range s.Plans() {
				log.Info("plan", "name", p.Name, "file", p.File, "environments", strings.Join(p.Envs, ","))
			}
			if cfg.Tokens == nil {
				log.Warn("no --tokens: the server is read-only; every write is refused")
			}
			if cfg.InsecureHTTP && !server.Loopback(cfg.Addr) && cfg.TLSCert == "" {
				log.Warn("--insecure-http: tokens cross the network in clear text; put a TLS proxy in front")
			}
			reload := func() {}
			if cfg.Tokens != nil {
				reload = func() {
					ts, err := server.LoadTokens(tokens, e.getenv)
					if err != nil {
						log.Error("SIGHUP: the tokens file was not read again; the tokens known stay", "err", err)
						return
					}
					cfg.Tokens.Replace(ts)
					log.Info("tokens read again", "file", tokens, "tokens", len(ts.List), "hooks", len(ts.Hooks))
				}
			}
			return e.serveUntilSignal(c.Context(), s, log, reload)
		},
	}
	c.Flags().StringVar(&cfg.Addr, "addr", "127.0.0.1:7070", "address to listen on (HOST:PORT)")
	c.Flags().StringVar(&tokens, "tokens", "", "API tokens file (YAML, sha256 of each token: `golive token new`)")
	c.Flags().StringVar(&f.store, "store", "", "state store for every plan (else $GOLIVE_STORE, else .golive/state.db beside each plan)")
	c.Flags().StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate (PEM)")
	c.Flags().StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key (PEM)")
	c.Flags().BoolVar(&cfg.InsecureHTTP, "insecure-http", false, "serve plain HTTP on a non-loopback address (a warning is logged)")
	c.Flags().DurationVar(&cfg.DrainTimeout, "drain-timeout", 0, "on SIGTERM, how long runs get to reach their next journal point before they are left paused (default 30s)")
	c.Flags().DurationVar(&cfg.WaitingEvery, "waiting-every", 0, "how often waiting runs are checked, to start those whose window opened and approvals arrived (default 5s)")
	c.Flags().StringVar(&f.secretsFile, "secrets-file", "", "file of NAME=VALUE secrets (besides GOLIVE_SECRET_* variables)")
	c.Flags().DurationVar(&heartbeat, "heartbeat", 5*time.Second, "how often a run executing here renews its lease, and how often the leases of other servers' runs are watched")
	c.Flags().DurationVar(&leaseTTL, "lease-ttl", store.HeartbeatTimeout, "how long a run's lease lasts without a renewal: once it expired, another server takes the run over (controls.takeover)")
	f.registerSSH(c)
	return c
}

// checkLeaseFlags refuses lease settings under which a live executor
// would lose its runs: the lease must outlast two heartbeats, and the
// heartbeat (which also refreshes the environment lock) must come at
// least twice within store.HeartbeatTimeout.
func checkLeaseFlags(heartbeat, ttl time.Duration) error {
	switch {
	case heartbeat <= 0:
		return withCode(ExitUsage, "--heartbeat %s: give a positive duration (e.g. 5s)", heartbeat)
	case ttl <= 0:
		return withCode(ExitUsage, "--lease-ttl %s: give a positive duration (e.g. 15s)", ttl)
	case heartbeat > store.HeartbeatTimeout/2:
		return withCode(ExitUsage, "--heartbeat %s is too long: the environment lock is refreshed on the heartbeat, and other machines count a lock not refreshed for %s as abandoned; give at most %s", heartbeat, store.HeartbeatTimeout, store.HeartbeatTimeout/2)
	case ttl < 2*heartbeat:
		return withCode(ExitUsage, "--lease-ttl %s is shorter than two heartbeats (--heartbeat %s): a live server would lose its runs to another; give at least %s", ttl, heartbeat, 2*heartbeat)
	}
	return nil
}

// serveUntilSignal serves until SIGTERM or SIGINT; SIGHUP rescans the
// plans and reads the tokens file again.
func (e *env) serveUntilSignal(ctx context.Context, s *server.Server, log *slog.Logger, reloadTokens func()) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP {
				if err := s.Rescan(); err != nil {
					log.Error("SIGHUP: plans not rescanned; the ones known stay", "err", err)
				}
				reloadTokens()
				continue
			}
			log.Info("stopping", "signal", sigName(sig))
			cancel()
		}
	}()
	if err := s.Serve(ctx); err != nil {
		return withCode(ExitUsage, "serve: %s", err)
	}
	return nil
}

// handOver stops the command-wide signal handling: the command handles
// signals itself.
func (in *interrupts) handOver() {
	if in != nil {
		signal.Stop(in.sigs)
	}
}

func newToken(e *env) *cobra.Command {
	root := &cobra.Command{Use: "token", Short: "Make API tokens for golive serve"}
	var roles []string
	n := &cobra.Command{
		Use:   "new NAME --role ROLE",
		Short: "Print a fresh random token once, and the line of the tokens file that knows it",
		Long: `New prints a fresh random API token (once: it is not kept anywhere) and
the entry to add under "tokens:" in the --tokens file of golive serve,
which holds only the token's sha256. NAME is the identity the token acts
as (approvals, audit, requester). Roles: viewer, deployer, approver, admin.`,
		Args: argsNamed(1, 1, "NAME (the identity the token acts as)"),
		RunE: func(c *cobra.Command, args []string) error {
			if len(roles) == 0 {
				return fmt.Errorf("%w: give --role (viewer, deployer, approver or admin)", errUsage)
			}
			var rs []server.Role
			for _, r := range roles {
				rs = append(rs, server.Role(r))
			}
			secret, line, err := server.NewToken(args[0], rs)
			if err != nil {
				return withCode(ExitUsage, "%s", err)
			}
			fmt.Fprintf(e.stdio.Out, "token: %s\n\nAdd to the tokens file (under tokens:):\n%s", secret, line)
			fmt.Fprintln(e.stdio.Err, "golive: the token is shown once; keep it secret (e.g. in your CI's secrets)")
			return nil
		},
	}
	n.Flags().StringSliceVar(&roles, "role", nil, "role(s): viewer, deployer, approver, admin (repeat or comma-separate)")
	root.AddCommand(n)
	return root
}

// argsNamed wants min to max (-1: any) arguments, named what.
func argsNamed(min, max int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			return fmt.Errorf("%w: %s needs %s", errUsage, strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" "), what)
		}
		return nil
	}
}

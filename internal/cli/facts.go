package cli

import (
	"path/filepath"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
)

// transports are the transports a command reaches targets with.
func (e *env) transports(f *runFlags) map[string]transport.Transport {
	return map[string]transport.Transport{
		"local": &local.Transport{},
		"ssh": &sshtr.Transport{InsecureIgnoreHostKeys: f.insecure, Logger: e.logger(),
			KeepAlive: f.sshKeepAlive, ConnectTimeout: f.sshConnectTimeout},
	}
}

// dialer reaches p's targets for the drift check, read-only, without the
// engine.
func (e *env) dialer(p *plan.Plan, f *runFlags) *check.Dialer {
	return &check.Dialer{Transports: e.transports(f), PlanDir: filepath.Dir(p.File),
		Resolve: func(path string) string { return load.Path(p, path) }}
}

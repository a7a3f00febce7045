package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// defaultKeys are tried, when they exist and need no passphrase, when a
// host has no identity file.
var defaultKeys = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// authSet is the keys offered to one host's server (and its jump host):
// the identity file or the default keys, then the ssh-agent's keys.
type authSet struct {
	signers   []gossh.Signer
	agentConn net.Conn
	agent     agent.ExtendedAgent
}

// newAuth loads identityFile ("" = the default keys in ~/.ssh) and
// connects to the agent at $SSH_AUTH_SOCK when set. A passphrase-protected
// identity file is left to the agent. It fails when no key is available.
func newAuth(identityFile string) (*authSet, error) {
	a := &authSet{}
	var encrypted string
	if identityFile != "" {
		path := expandHome(identityFile)
		s, err := loadKey(path)
		var pm *gossh.PassphraseMissingError
		switch {
		case err == nil:
			a.signers = append(a.signers, s)
		case errors.As(err, &pm):
			encrypted = path
		default:
			return nil, fmt.Errorf("identity file %s: %w", path, err)
		}
	} else if home, err := os.UserHomeDir(); err == nil {
		for _, name := range defaultKeys {
			if s, err := loadKey(filepath.Join(home, ".ssh", name)); err == nil {
				a.signers = append(a.signers, s)
			}
		}
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			a.agentConn, a.agent = c, agent.NewClient(c)
		}
	}
	if len(a.signers) == 0 && a.agent == nil {
		if encrypted != "" {
			return nil, fmt.Errorf("%w: identity file %s is passphrase-protected and no ssh-agent is running (SSH_AUTH_SOCK); add the key to an agent with ssh-add", ErrAuth, encrypted)
		}
		return nil, fmt.Errorf("%w: no SSH key: set identity_file, or start ssh-agent and set SSH_AUTH_SOCK", ErrAuth)
	}
	return a, nil
}

func loadKey(path string) (gossh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return gossh.ParsePrivateKey(b)
}

// methods returns the public-key method offering every key in turn; the
// agent's keys are listed when the server asks.
func (a *authSet) methods() []gossh.AuthMethod {
	return []gossh.AuthMethod{gossh.PublicKeysCallback(func() ([]gossh.Signer, error) {
		signers := append([]gossh.Signer(nil), a.signers...)
		if a.agent != nil {
			if more, err := a.agent.Signers(); err == nil {
				signers = append(signers, more...)
			} else if len(signers) == 0 {
				return nil, fmt.Errorf("ssh-agent: %w", err)
			}
		}
		return signers, nil
	})}
}

// close disconnects from the agent; the keys are not needed once the
// handshake is over.
func (a *authSet) close() {
	if a.agentConn != nil {
		a.agentConn.Close()
	}
}

// expandHome replaces a leading ~/ with the controller user's home.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

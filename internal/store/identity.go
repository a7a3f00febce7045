package store

import (
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
)

// Via says how a person reached golive when they acted.
type Via string

// Ways of acting.
const (
	// ViaCLI: a golive command at a terminal or in a script. The name is a
	// claim (--as, $GOLIVE_USER, else the OS user); the OS user beside it is
	// what the operating system vouches for.
	ViaCLI Via = "cli"
	// ViaAPI: a request to `golive serve` with an API token. The name is the
	// token's name; nobody can choose it.
	ViaAPI Via = "api"
)

// Identity is who acted: the name they go by, and what vouches for it.
type Identity struct {
	Name   string `json:"name"`              // the claimed name (CLI) or the token's name (API)
	Via    Via    `json:"via,omitempty"`     // cli or api; empty in records written before golive recorded it
	OSUser string `json:"os_user,omitempty"` // the OS user (real uid) of the process that recorded it
	Token  string `json:"token,omitempty"`   // the name of the API token, when Via is api
}

// Authenticated reports whether the identity was vouched for by an API
// token rather than claimed.
func (i Identity) Authenticated() bool { return i.Via == ViaAPI && i.Token != "" }

// Names are every name the identity is known by: the claimed name, and the
// OS user (CLI) or the token's name (API). The OS user of an API request is
// the server's and says nothing about the person, so it is left out.
func (i Identity) Names() []string {
	var out []string
	add := func(s string) {
		if s != "" && !containsString(out, s) {
			out = append(out, s)
		}
	}
	add(i.Name)
	switch i.Via {
	case ViaAPI:
		add(i.Token)
	default:
		add(i.OSUser)
	}
	return out
}

// SamePerson reports whether a and b are known by a common name: the same
// claimed name, the same OS user at the CLI, the same token, or one's
// claimed name being the other's OS user or token. At the CLI golive cannot
// tell two people apart who share an OS account.
func SamePerson(a, b Identity) bool {
	for _, n := range a.Names() {
		if containsString(b.Names(), n) {
			return true
		}
	}
	return false
}

// String is the name with what vouches for it: "alice (os user bob)",
// "alice (token alice)", or just "alice" when the OS user is alice or
// nothing was recorded.
func (i Identity) String() string {
	switch {
	case i.Via == ViaAPI && i.Token != "" && i.Token != i.Name:
		return i.Name + " (token " + i.Token + ")"
	case i.Via == ViaAPI:
		return i.Name + " (api)"
	case i.OSUser != "" && i.OSUser != i.Name:
		return i.Name + " (os user " + i.OSUser + ")"
	}
	return i.Name
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ProcessOSUser returns the user name of this process's real uid, or
// "uid N" when the uid has no name. The real uid, not $USER, $LOGNAME or
// $SUDO_USER: those are claims like --as. Looked up once. Tests of the cli
// package replace it to act as several OS users.
var ProcessOSUser = sync.OnceValue(func() string {
	uid := os.Getuid()
	if uid < 0 { // Windows
		if u, err := user.Current(); err == nil {
			return u.Username
		}
		return "unknown"
	}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return strings.TrimSpace(u.Username)
	}
	return "uid " + strconv.Itoa(uid)
})

// CLIIdentity is a name claimed at the CLI by this process.
func CLIIdentity(name string) Identity {
	return Identity{Name: name, Via: ViaCLI, OSUser: ProcessOSUser()}
}

// fill completes an identity recorded without its provenance: a name
// given without Via was claimed by this process.
func fill(name string, via *Via, osUser *string) {
	if name == "" || *via != "" {
		return
	}
	*via = ViaCLI
	if *osUser == "" {
		*osUser = ProcessOSUser()
	}
}

// FillIdentities completes the identity fields of r, a, e that a caller
// left empty: a name without Via was claimed by this process at the CLI.
// Stores call them before writing, so that no claimed name is ever stored
// without the OS user beside it.
func (r *Run) FillIdentities() { fill(r.Requester, &r.RequesterVia, &r.RequesterOSUser) }

// FillIdentities: see Run.FillIdentities.
func (a *Approval) FillIdentities() { fill(a.Approver, &a.Via, &a.OSUser) }

// FillIdentities: see Run.FillIdentities.
func (e *Event) FillIdentities() { fill(e.Actor, &e.ActorVia, &e.ActorOSUser) }

// RequesterIdentity is who started the run.
func (r Run) RequesterIdentity() Identity {
	return Identity{Name: r.Requester, Via: r.RequesterVia, OSUser: r.RequesterOSUser, Token: r.RequesterToken}
}

// Identity is who decided.
func (a Approval) Identity() Identity {
	return Identity{Name: a.Approver, Via: a.Via, OSUser: a.OSUser, Token: a.Token}
}

// ActorIdentity is who caused the event.
func (e Event) ActorIdentity() Identity {
	return Identity{Name: e.Actor, Via: e.ActorVia, OSUser: e.ActorOSUser, Token: e.ActorToken}
}

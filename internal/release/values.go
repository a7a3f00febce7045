package release

import (
	"errors"
	"fmt"
	"strings"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/values"
)

// The core refuses values that break the rules of values given at run
// time (internal/values), whatever front end passed them: the CLI checks
// its flags first, the server its request bodies; this is the second
// line. A refusal is an Invalid error naming the input and the offending
// character; nothing is opened or recorded before.

// checked collects the problems of several values.
type checked []error

func (c *checked) check(err error) {
	if err != nil {
		*c = append(*c, err)
	}
}

func (c checked) err() error {
	if len(c) == 0 {
		return nil
	}
	err := errors.Join(c...)
	return &Error{Kind: Invalid, Msg: err.Error(), Err: err}
}

// checkPlanInput checks the environment and the overrides.
func (c *checked) planInput(in PlanInput) {
	if in.Env != "" {
		c.check(values.Name("env", in.Env))
	}
	for _, kv := range in.Set {
		c.check(checkOverride("set", kv))
	}
}

// identity checks who acts: a name by the actor rule; a token's name too.
func (c *checked) identity(id store.Identity) {
	if id.Name == "" {
		c.check(errors.New("who acts: no name given"))
		return
	}
	if id.Via == store.ViaAPI {
		c.check(values.Actor("identity", id.Name))
	} else {
		// A name claimed at the CLI: --as and $GOLIVE_USER were held to
		// the actor rule by the CLI; an OS user name may be anything the
		// system allows, but never a control character.
		c.check(values.Text("identity", id.Name, values.MaxActor))
		c.check(values.NoControl("identity", id.Name))
	}
	if id.Token != "" {
		c.check(values.Actor("token", id.Token))
	}
	if id.Via != "" && id.Via != store.ViaCLI && id.Via != store.ViaAPI {
		c.check(fmt.Errorf("identity: via %s: want cli or api", values.Quote(string(id.Via))))
	}
}

func (c *checked) text(input, s string) {
	if s != "" {
		c.check(values.Text(input, s, values.MaxText))
	}
}

func (c *checked) runID(id string) {
	if id == "" {
		c.check(errors.New("run: no id given"))
		return
	}
	c.check(values.NoControl("run", id))
}

// checkOverride is one NAME=VALUE override: the name as the plan writes
// var names, the value any text (the plan's settable pattern, if any, is
// applied when the plan is loaded).
func checkOverride(input, kv string) error {
	name, value, ok := strings.Cut(kv, "=")
	if !ok || name == "" {
		return fmt.Errorf("%s %s: want NAME=VALUE", input, values.Quote(kv))
	}
	if err := values.NoControl(input+" name", name); err != nil {
		return err
	}
	return values.Text(input+" "+name, value, values.MaxOverride)
}

func valuesVersion(s string) error { return values.Version("release", s) }
func valuesTicket(s string) error  { return values.Ticket("ticket", s) }

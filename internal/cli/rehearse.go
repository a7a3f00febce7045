package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/release"
)

func newRehearse(e *env) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "rehearse [FILE] -r VERSION --env ENV",
		Short: "Release, verify, back out, and check the previous release is healthy again",
		Long: `Rehearse tests the release and its backout in an environment such as staging:
it releases VERSION exactly as run does, verifies it, backs it out, then runs
the health and verify checks of the previous release to show it is healthy
again. A clean rehearsal is recorded; controls.rehearsed_in: ENV in another
environment is satisfied only by one for the same release and plan content.
Exit 0 for a clean rehearsal, 1 when it failed (and was backed out), 3 no-go,
4 when targets need attention.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if f.release == "" {
				return fmt.Errorf("%w: rehearse needs the release: -r VERSION", errUsage)
			}
			return e.rehearse(c.Context(), &f, args)
		},
	}
	f.register(c, true)
	f.registerRun(c)
	f.registerSSH(c)
	c.Flags().StringVar(&f.ticket, "ticket", "", "change ticket id")
	c.Flags().BoolVar(&f.wait, "wait", false, "wait for gates and sign-offs instead of stopping")
	c.Flags().IntVar(&f.parallel, "parallel", 50, "hosts worked on at the same time")
	return c
}

func (e *env) rehearse(ctx context.Context, f *runFlags, args []string) error {
	file, err := f.planFile(args)
	if err != nil {
		return err
	}
	w := e.human(f)
	prog := e.progress(w)
	defer prog.Close()
	res, err := e.service(f).Rehearse(ctx, release.StartOptions{Plan: f.planInput(file), Release: f.release, Ticket: f.ticket,
		By: e.identity(f), Wait: f.wait, Parallel: f.parallel, Watch: e.watch(w, prog, "rehearsal")})
	if err != nil || res.Rehearsal == nil {
		return e.finish(res, f, err)
	}
	fmt.Fprintf(w, "golive: %s\n", res.Rehearsal.Message)
	if !res.Rehearsal.Clean {
		return silent(ExitIncomplete)
	}
	return nil
}

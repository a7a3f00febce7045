package release

import (
	"context"

	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
)

// Ready reports whether a waiting run may start now: its window is open
// and its approvals are in (what it waits for; no preflight check runs:
// Resume reviews the run fully before it starts it). The reasons say
// what it still waits for. A run that is not waiting is never ready.
func (s *Service) Ready(ctx context.Context, ref RunRef) (bool, []string, error) {
	r, err := s.Run(ctx, ref)
	if err != nil {
		return false, nil, err
	}
	if r.State != store.StateWaiting {
		return false, nil, nil
	}
	pr, err := s.prepareFor(ctx, ref.Plan, r)
	if err != nil {
		return false, nil, err
	}
	defer pr.close()
	in := s.reviewInput(pr, s.newEngine(pr, engineOptions{}), "", r.Requester, &r, true)
	p := review.Pending(ctx, in)
	return p.Go, p.Reasons, nil
}

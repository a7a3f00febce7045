package engine

import "github.com/golive-dev/golive/internal/rollout"

// batchOf returns the batch of stage s that holds host, so that a backout
// script sees the GOLIVE_BATCH its step ran in.
func batchOf(s *rollout.Stage, host string) *rollout.Batch {
	for _, b := range s.Batches {
		for _, h := range b.Hosts {
			if h.Name == host {
				return b
			}
		}
	}
	return &rollout.Batch{Index: 0}
}

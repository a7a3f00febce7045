// Package rollout turns a validated plan, a release and its targets into
// the concrete rollout: stages, batches (canary first), hosts, and each
// host's steps, health checks and backouts with every ${{ }} rendered. It
// touches nothing; `golive plan` prints it and the engine executes it.
package rollout

// Package transport defines how golive reaches a target: the [Transport]
// interface, the [Conn] it dials for one [Host], and the [Command] and
// [Upload] values every transport executes the same way.
//
// The contract every implementation keeps:
//
//   - A script runs as if by `sh -c`, but the script and Command.Env are
//     handed to `/bin/sh -s` on its standard input ([Command.Payload]),
//     never as arguments, so no process list on the controller or the
//     target shows them. The script's standard input is /dev/null. A non-zero exit status is not a Go error:
//     [Result.ExitCode] carries it and the error is nil. An error means the
//     script could not be run at all, or it was interrupted.
//   - When the context passed to [Conn.Run] is done, the whole process group
//     of the script is terminated: SIGTERM, then SIGKILL after a grace
//     period. Run then returns ExitCode -1 and an error built by
//     [ContextError], so errors.Is(err, context.DeadlineExceeded) tells a
//     timeout from a cancellation (errors.Is(err, context.Canceled)), and
//     the context's cause is wrapped too.
//   - An [Upload] is atomic (temporary file, fsync, rename) and is skipped
//     when the destination already holds the same SHA-256.
//   - A [Conn] may also be a [Sessioner]: its [Session] runs commands one
//     after another over one session with the target, each with every
//     promise above.
//
// Implementations live in sub-packages: local (a directory on the
// controller) and ssh.
package transport

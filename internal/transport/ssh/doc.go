// Package ssh is the transport for targets reached over SSH. It owns the
// connection to each host (one per [transport.Conn], opened by Dial and
// shared by every Run and Upload on it), host key verification against
// known_hosts, authentication (key file and ssh-agent), jump hosts,
// keepalives, remote process-group clean-up and SFTP uploads.
//
// # Connections
//
// [Transport.Dial] connects (directly or through Host.Jump), verifies the
// host key against Host.KnownHosts (default ~/.ssh/known_hosts), logs in as
// Host.User (default: the controller's OS user) on Host.Port (default 22),
// and creates Host.Dir with mkdir -p. At most [Transport.MaxDialing]
// connections are being set up at once. Sessions are multiplexed over the
// connection, so Run and Upload may be called concurrently; at most
// [Transport.MaxSessions] of them hold a session at once (OpenSSH's
// MaxSessions defaults to 10; the rest is left for SFTP and clean-up).
//
// A keepalive@openssh.com request is sent every [Transport.KeepAlive]; a
// connection that leaves three in a row unanswered is closed, and the Runs
// in flight on it fail with an error wrapping [ErrConnLost].
//
// # Commands
//
// A script runs in Command.Dir (relative to Host.Dir), with Command.Env
// exported (sshd's AcceptEnv is not needed). The command line the server
// executes is a fixed wrapper; the script and Command.Env follow on the
// session's standard input, read by `/bin/sh -s` ([transport.Command.Payload]),
// so the target's process list never shows them. The login shell of the remote user only has to understand
// `exec /bin/sh -c '...'` with POSIX single quotes (sh, bash, dash, ksh and
// zsh do; csh and fish are not supported).
//
// The wrapper makes the script the leader of its own process group before
// it starts: sshd already runs each session in a new session (OpenSSH and
// Dropbear call setsid(2) for the session's child), and when that is not so
// the wrapper re-executes itself under setsid(1), which then does not fork,
// so the process id, and with it the exit status, stays the same. The
// wrapper then reports "pid pgid" on the first line of its standard error
// (tagged with a random nonce and removed from the output) and replaces
// itself with the script's shell (`/bin/sh -s`, same pid). When Run's context is done, a second
// session sends SIGTERM to the group, polls until the group has exited or
// [Transport.Grace] has passed, and then sends SIGKILL; Run returns
// ExitCode -1 and an error made by [transport.ContextError], as the local
// transport does. When Command.Stdout and Command.Stderr are the same
// writer, the wrapper merges the two streams on the target (2>&1), so their
// order is kept.
//
// A script killed by signal N on its own reports ExitCode 128+N.
//
// # Sessions
//
// A connection is a [transport.Sessioner]: Session opens one exec channel
// that runs many commands, one at a time (the engine runs a host's steps
// over one, instead of one channel per step). Its command line is a fixed
// loop; a random nonce and then each command follow on its standard input,
// a command only when its Run is called. Each command runs as Run's would
// (its own `/bin/sh -s`, process group, directory and environment, killed
// with its group when its context is done); the loop ends its output on
// stdout and stderr with a boundary line that starts with the nonce, so the
// command's exit code and output are its own and nothing it prints can
// forge a boundary. The session is a [transport.SessionUploader] too: an
// upload is a command whose script asks for the file once it is ready
// (the file's exact size follows, read with head -c); bytes an interrupted
// upload left unread end the session and are never taken for a command.
// The first session of a connection is the one Dial created Host.Dir on:
// a host's set-up and steps (and uploads, if the caller sends them over the
// session; the engine does not: the file streamed ahead of its reader
// piles up in the SSH server's buffer for the channel, which cost the
// hosts more CPU than the SFTP channel saves, bench/README.md "stop 10")
// take one exec channel. golive's own commands on it (the directory
// set-up, an upload's hash check) are evaluated by the session's loop in
// a subshell of its own: no setsid(1) and no fresh shell for them; an
// interrupted one has its subshell signalled, not a group. See
// pipeline.go and pipeline_upload.go.
//
// # Uploads
//
// Uploads use one SFTP client per connection, created when an upload
// starts and closed once no upload uses it (its channel's buffers are
// not held through the host's later steps and checks). The
// file is streamed into a temporary file beside the destination, synced
// when the server supports fsync@openssh.com, given its mode, checked on
// the target (openssl dgst for a file of 1 MiB or more when the target has
// it, else sha256sum or shasum; read back and hashed when it has none),
// and renamed over the destination (posix-rename@openssh.com, else mv -f). The controller does not hash the bytes on the way (that
// check on the target is what guards the content); it hashes the source
// again only when the check fails, to tell a source that changed after
// its verification from bytes damaged on the way. A destination that already holds the SHA-256 is skipped.
// Each SFTP request goes to the channel in one write, so one SSH packet
// (pkg/sftp writes a request's header and data apart; writes carry 32 KiB
// less 512 bytes, so that header and data fit an OpenSSH session's 32 KiB
// packets). The hash check on the target runs on the connection's idle
// set-up session when there is one (a host's upload comes before its first
// step), else on an exec channel of its own.
// At most sftpInFlight (16) writes of an upload are in flight: OpenSSH
// grows its buffer for a channel by copying it whole for every packet, so
// more sent ahead than the reader on the host keeps up with costs the
// host CPU quadratic in the backlog. A server without SFTP gets the file
// over one exec session (cat, sha256sum or shasum, mv), sent only once
// the script asks for it.
//
// # Reuse
//
// With [Transport.ReuseIdle], Close keeps the SSH connection of a Conn
// that holds no session for that long, and the next Dial of the same
// user, address, port, jump host, identity file and known_hosts file logs
// in over it (running its directory set-up again); [Transport.CloseIdle]
// ends the connections kept. The pipelined session a Dial ran its set-up
// on (a read-only Dial too, when its connection may be kept) stays with
// the kept connection, and the next Dial runs its set-up on it: the
// review's check and the run's set-up and steps take one exec channel
// per host (a kept session that does not answer in time is replaced). The known_hosts file is parsed once per
// Transport and again when its content changes.
//
// # Errors
//
// Every error starts with "ssh HOST: ". Host faults wrap [ErrUnreachable],
// [ErrAuth], [ErrHostKey] (as a [*HostKeyError] that names the fingerprint
// and the fix) or [ErrConnLost], for errors.Is.
package ssh

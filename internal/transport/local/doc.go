// Package local is the transport for targets on the controller itself: a
// "host" is a working directory (Host.Dir) on this machine.
//
// Scripts run in their own process group, with the controller's
// environment (without GOLIVE_SECRET_*) plus Command.Env. The script and
// Command.Env are written to the standard input of `sh -s`
// ([transport.Command.Payload]), never passed as arguments, so `ps` shows no
// secret; the script's own standard input is /dev/null. When Run's context is done the
// group gets SIGTERM, then SIGKILL once [Transport.Grace] has passed (Run
// returns early when every process of the group has exited). After the shell
// has exited, Run waits at most [Transport.WaitDelay] for processes it left
// behind to close its output; then the output is cut off (such a process
// sees EPIPE/SIGPIPE on its next write), so a script that starts a daemon
// should redirect the daemon's output.
//
// Uploads copy into a temporary file beside the destination, fsync it, set
// its mode, rename it over the destination and fsync the directory, so the
// destination is always either the old or the new file.
//
// The package needs a Unix system; the group clean-up is most precise on
// Linux, where /proc tells exited (zombie) processes from running ones.
package local

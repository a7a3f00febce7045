package ssh

import "github.com/golive-dev/golive/internal/transport"

// SessionNonce is the boundary nonce of a session Conn.Session returned.
func SessionNonce(s transport.Session) string { return s.(*pipeSession).nonce }

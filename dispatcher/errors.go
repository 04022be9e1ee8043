package dispatcher

import "errors"

var (
	// ErrInvalidNodeID means a node ID is empty or longer than
	// MaxNodeIDLen bytes.
	ErrInvalidNodeID = errors.New("dispatcher: invalid node id")
	// ErrRunning means Run was called on a Membership that already runs or
	// ran; a Membership runs once.
	ErrRunning = errors.New("dispatcher: membership already running")
	// ErrStopped means the Membership's Run returned before the first
	// snapshot of the bucket was applied.
	ErrStopped = errors.New("dispatcher: membership stopped before it was ready")

	errWatchClosed = errors.New("watch closed")
)

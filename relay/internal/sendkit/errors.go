package sendkit

import (
	"fmt"

	"github.com/mopush/mopush/relay"
)

// ErrTokenRefused marks a vendor answer that refused the access token
// itself (expired or revoked). It wraps relay.ErrBadCredentials, so after
// the one refresh SendWithToken allows it is already a contract error.
var ErrTokenRefused = fmt.Errorf("access token refused: %w", relay.ErrBadCredentials)

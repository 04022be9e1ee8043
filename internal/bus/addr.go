package bus

import (
	"fmt"
	"net"
	"strconv"
)

func splitHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("bus listen address %q: %w", s, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("bus listen port %q: %w", p, err)
	}
	return host, port, nil
}

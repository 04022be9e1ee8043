package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// tcpListen is the st column of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// PIDByPort finds the process listening on a TCP port of this network
// namespace: the socket inodes of listening sockets come from
// /proc/net/tcp and tcp6, the owner is the process with an fd linking to
// "socket:[inode]". Processes of other users are skipped (their fds are
// not readable). When several processes share the socket, the lowest pid
// wins.
func PIDByPort(port int) (int, error) {
	var inodes []uint64
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("find pid of port %d: %w", port, err)
		}
		found, err := ParseListenInodes(string(b), port)
		if err != nil {
			return 0, fmt.Errorf("find pid of port %d: %s: %w", port, f, err)
		}
		inodes = append(inodes, found...)
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("port %d: %w", port, ErrNoListener)
	}
	return pidOwning(port, inodes)
}

// ParseListenInodes returns the inodes of the listening sockets on port in
// the text of /proc/net/tcp or /proc/net/tcp6.
func ParseListenInodes(text string, port int) ([]uint64, error) {
	var out []uint64
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		f := strings.Fields(line)
		if i == 0 || len(f) < 10 {
			continue // header or blank
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			return nil, fmt.Errorf("line %d: local address %q", i+1, f[1])
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil {
			return nil, fmt.Errorf("line %d: port %q", i+1, hexPort)
		}
		if int(p) != port || f[3] != tcpListen {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: inode %q", i+1, f[9])
		}
		if inode != 0 {
			out = append(out, inode)
		}
	}
	return out, nil
}

// pidOwning scans /proc/*/fd for a link to one of the socket inodes.
func pidOwning(port int, inodes []uint64) (int, error) {
	want := map[string]bool{}
	for _, in := range inodes {
		want["socket:["+strconv.FormatUint(in, 10)+"]"] = true
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("find pid of port %d: %w", port, err)
	}
	var pids []int
	for _, d := range dirs {
		if pid, err := strconv.Atoi(d.Name()); err == nil && d.IsDir() {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	for _, pid := range pids {
		fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // gone, or another user's
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && want[link] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("port %d: %w (the socket exists; is its process another user's?)", port, ErrNoListener)
}

package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTicks is the unit of the CPU times in /proc/PID/stat:
// sysconf(_SC_CLK_TCK), which Linux fixes at 100 (USER_HZ) on every
// architecture Go supports.
const ClockTicks = 100

// ProcSample is one reading of a process's resource use.
type ProcSample struct {
	// At is when the sample was taken.
	At time.Time
	// CPU is user plus system time since the process started.
	CPU time.Duration
	// RSS is the resident set size in bytes (VmRSS).
	RSS int64
	// ReadBytes and WriteBytes are the bytes the process caused to be read
	// from and written to storage (/proc/PID/io); zero when unreadable.
	ReadBytes, WriteBytes int64
}

// ReadProc samples pid's CPU time, RSS and storage I/O from /proc.
func ReadProc(pid int) (ProcSample, error) {
	s := ProcSample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read cpu of pid %d: %w", pid, err)
	}
	if s.CPU, err = ParseStatCPU(string(stat)); err != nil {
		return s, fmt.Errorf("pid %d: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read rss of pid %d: %w", pid, err)
	}
	if s.RSS, err = ParseStatusRSS(string(status)); err != nil {
		return s, fmt.Errorf("pid %d: %w", pid, err)
	}
	if io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		s.ReadBytes, s.WriteBytes, _ = ParseIO(string(io))
	}
	return s, nil
}

// ParseStatCPU returns utime+stime of a /proc/PID/stat line. The command
// name (field 2) is in parentheses and may hold spaces and parentheses
// itself, so fields are counted from the last ')'.
func ParseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat: no command name")
	}
	// After the name: state(3) ppid(4) … utime(14) stime(15).
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the name, want at least 13", len(f))
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("proc stat: cpu time %q", v)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / ClockTicks, nil
}

// ParseStatusRSS returns VmRSS of /proc/PID/status in bytes.
func ParseStatusRSS(status string) (int64, error) {
	v, ok := field(status, "VmRSS")
	if !ok {
		return 0, fmt.Errorf("proc status: no VmRSS")
	}
	num, unit, _ := strings.Cut(v, " ")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("proc status: VmRSS %q", v)
	}
	if strings.TrimSpace(unit) != "kB" {
		return 0, fmt.Errorf("proc status: VmRSS unit %q, want kB", unit)
	}
	return n * 1024, nil
}

// ParseIO returns read_bytes and write_bytes of /proc/PID/io.
func ParseIO(text string) (readBytes, writeBytes int64, err error) {
	for _, k := range []struct {
		name string
		dst  *int64
	}{{"read_bytes", &readBytes}, {"write_bytes", &writeBytes}} {
		v, ok := field(text, k.name)
		if !ok {
			return 0, 0, fmt.Errorf("proc io: no %s", k.name)
		}
		if *k.dst, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("proc io: %s %q", k.name, v)
		}
	}
	return readBytes, writeBytes, nil
}

// field returns the value of a "Name: value" line, spaces trimmed.
func field(text, name string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == name {
			return strings.Join(strings.Fields(v), " "), true
		}
	}
	return "", false
}

// ReadFileLimit returns the soft open-file limit of pid.
func ReadFileLimit(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, fmt.Errorf("read limits of pid %d: %w", pid, err)
	}
	return ParseLimitsNoFile(string(b))
}

// ParseLimitsNoFile returns the soft "Max open files" of /proc/PID/limits;
// "unlimited" is the largest uint64.
func ParseLimitsNoFile(text string) (uint64, error) {
	const name = "Max open files"
	for line := range strings.SplitSeq(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			break
		}
		if f[0] == "unlimited" {
			return ^uint64(0), nil
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc limits: %s %q", name, f[0])
		}
		return n, nil
	}
	return 0, fmt.Errorf("proc limits: no %q line", name)
}

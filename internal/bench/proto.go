package bench

// Commands the parent sends to a worker, one JSON value each on the
// worker's stdin; the worker answers each with exactly one reply.
const (
	cmdRegister = "register" // register every device; reply: IDs
	cmdConnect  = "connect"  // start every device, wait until synced
	cmdReset    = "reset"    // forget received pushes and latencies
	cmdStats    = "stats"    // report counts (and the histogram if Hist)
	cmdHold     = "hold"     // hold every new connection (dials block)
	cmdRelease  = "release"  // let held connections through
	cmdQuit     = "quit"     // stop every device and exit
)

// command is one request to a worker.
type command struct {
	Cmd string `json:"cmd"`
	// Seq numbers the commands of one parent; the reply carries it back,
	// so that a reply to a call that gave up waiting is not taken for the
	// answer to the next one.
	Seq uint64 `json:"seq,omitempty"`
	// TimeoutMs bounds register and connect.
	TimeoutMs int64 `json:"timeout_ms,omitempty"`
	// Hist asks stats to include the latency histogram.
	Hist bool `json:"hist,omitempty"`
}

// reply is a worker's answer to one command. Times are Unix nanoseconds
// of the machine clock, which parent and workers share.
type reply struct {
	Cmd   string `json:"cmd"`
	Seq   uint64 `json:"seq,omitempty"` // the command's
	Error string `json:"error,omitempty"`
	// IDs are the registered device ids (register).
	IDs []string `json:"ids,omitempty"`
	// Devices is how many devices the worker simulates.
	Devices int `json:"devices"`
	// Ready counts devices whose handshake finished at least once; Failed
	// those the server refused for good.
	Ready  int `json:"ready"`
	Failed int `json:"failed"`
	// Synced counts devices that finished their catch-up since PhaseNs.
	Synced int `json:"synced"`
	// PhaseNs is when the current phase began: the start of connect or
	// the release of held connections.
	PhaseNs      int64 `json:"phase_ns,omitempty"`
	LastReadyNs  int64 `json:"last_ready_ns,omitempty"`
	LastSyncedNs int64 `json:"last_synced_ns,omitempty"`
	// Received counts pushes handed to devices since the last reset;
	// DevicesReceived the devices that got at least one.
	Received        uint64 `json:"received"`
	DevicesReceived int    `json:"devices_received"`
	LastRecvNs      int64  `json:"last_recv_ns,omitempty"`
	// Disconnects counts sessions or connection attempts that ended since
	// the last reset (failed dials and handshakes included).
	Disconnects uint64 `json:"disconnects"`
	// Hist is the send-to-receive latency of the pushes received since
	// the last reset (stats with Hist).
	Hist *Histogram `json:"hist,omitempty"`
}

package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"

	"github.com/redis/rueidis"
)

// appendScript appends messages to one device's stream and trims it.
//
//	KEYS: stream head, message list, outcomes
//	ARGV: max stream length, epoch for a new stream, the epoch and head
//	      this client last appended at ("0" "0": none), message...
//
// It returns {epoch, sequence number of the first message, renewed}. A
// missing head starts a new stream with the given epoch, removing whatever
// a lost stream left of its list and outcomes. A head below the one this
// client appended at, in the same epoch, means the shard lost writes it had
// applied (a restart or failover without them): the stream keeps its
// messages, numbers and watermarks under the given epoch instead, so that
// no device takes the numbers the lost messages had for ones it holds, and
// renewed is 1. Numbers it writes are formatted with %d so that they match
// the decimal strings the Go side writes and reads.
const appendScript = `
local max = tonumber(ARGV[1])
local n = #ARGV - 4
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local head, first, renewed = 0, 1, 0
if epoch then
  local v = redis.call('HMGET', KEYS[1], 'head', 'first')
  head, first = tonumber(v[1]) or 0, tonumber(v[2]) or 1
  if epoch == ARGV[3] and head < tonumber(ARGV[4]) then
    epoch, renewed = ARGV[2], 1
  end
else
  epoch = ARGV[2]
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
for i = 5, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local start = head + 1
head = head + n
if head - first + 1 > max then
  local keep = head - max + 1
  redis.call('LTRIM', KEYS[2], -max, -1)
  if keep - first <= 64 then
    for s = first, keep - 1 do
      redis.call('HDEL', KEYS[3], string.format('%d', s))
    end
  else
    for _, s in ipairs(redis.call('HKEYS', KEYS[3])) do
      if tonumber(s) < keep then redis.call('HDEL', KEYS[3], s) end
    end
  end
  first = keep
end
redis.call('HSET', KEYS[1], 'epoch', epoch, 'head', string.format('%d', head), 'first', string.format('%d', first))
return {epoch, start, renewed}
`

// renewScript moves a stream that went back to a new epoch, keeping its
// messages, numbers and watermarks.
//
//	KEYS: stream head
//	ARGV: the epoch it went back in, the new epoch
//
// It returns the stream's epoch afterwards ("0" for no stream): the new one
// when it was in the given epoch, else the one it has.
const renewScript = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return '0' end
if epoch == ARGV[1] then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[2])
  return ARGV[2]
end
return epoch
`

// targetScript reads what a fallback check needs of one message, at one
// point in time.
//
//	KEYS: stream head, message list, outcomes
//	ARGV: the message's sequence number
//
// It returns {epoch ("0" for no stream), head, ack watermark, outcome (""
// for none), the message's JSON ("" when not retained)}.
const targetScript = `
local m = redis.call('HMGET', KEYS[1], 'epoch', 'head', 'first', 'acked')
local head = tonumber(m[2]) or 0
local first = tonumber(m[3]) or 1
local seq = tonumber(ARGV[1])
local msg = ''
if m[1] and seq >= first and seq <= head then
  local v = redis.call('LINDEX', KEYS[2], seq - first)
  if v then msg = string.sub(v, string.find(v, '|', 1, true) + 1) end
end
return {m[1] or '0', head, m[4] or '0', redis.call('HGET', KEYS[3], ARGV[1]) or '', msg}
`

// readScript reads a page of one device's stream, skipping expired messages.
//
//	KEYS: stream head, message list
//	ARGV: reader's epoch ("0": none), since, how many to return at most,
//	      now in Unix microseconds
//
// It returns {epoch ("0" for no stream), head, recovered (0 or 1),
// {seq, json, seq, json, ...}}. The rules for restarting at the oldest
// message are those of store.Streams.ReadStream.
const readScript = `
local m = redis.call('HMGET', KEYS[1], 'epoch', 'head', 'first')
local epoch = m[1] or '0'
local head = tonumber(m[2]) or 0
local first = tonumber(m[3]) or 1
local since = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local start, recovered = since + 1, 1
if (ARGV[1] ~= '0' and ARGV[1] ~= epoch) or (ARGV[1] == '0' and since > 0) or since > head or start < first then
  start, recovered = first, 0
end
local out, got = {}, 0
local i = start - first
local last = head - first
while got < want and i <= last do
  local vals = redis.call('LRANGE', KEYS[2], i, math.min(i + want - 1, last))
  if #vals == 0 then break end
  for j, v in ipairs(vals) do
    local p = string.find(v, '|', 1, true)
    if p == 1 or tonumber(string.sub(v, 1, p - 1)) >= now then
      out[#out + 1] = first + i + j - 1
      out[#out + 1] = string.sub(v, p + 1)
      got = got + 1
      if got >= want then break end
    end
  end
  i = i + #vals
end
return {epoch, head, recovered, out}
`

// advanceScript moves a watermark forward.
//
//	KEYS: stream head, message list
//	ARGV: watermark field, through (at most 2^53-1)
//
// It returns {} when the watermark did not move, else {first sequence
// number returned, {json...}}: the retained messages it newly covers,
// expired ones included.
const advanceScript = `
local m = redis.call('HMGET', KEYS[1], ARGV[1], 'head', 'first')
local cur = tonumber(m[1]) or 0
local head = tonumber(m[2]) or 0
local first = tonumber(m[3]) or 1
local to = math.min(tonumber(ARGV[2]), head)
if to <= cur then return {} end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', to))
local from = math.max(cur + 1, first)
local out = {}
if from <= to then
  for _, v in ipairs(redis.call('LRANGE', KEYS[2], from - first, to - first)) do
    local p = string.find(v, '|', 1, true)
    out[#out + 1] = string.sub(v, p + 1)
  end
end
return {from, out}
`

// ackScript moves the ack watermark forward and records the outcome of
// every message it newly covers, in one run.
//
//	KEYS: stream head, message list, outcomes
//	ARGV: through (at most 2^53-1), now (Unix microseconds),
//	      acked outcome, its replace mask, expired outcome, its replace mask
//
// A message whose expiry (the list entry's prefix) is not after now is
// recorded as expired, any other as acked, where the outcome replaces the
// recorded one (the masks as in outcomeScript). It returns {} when the
// watermark did not move, else {first sequence number returned,
// {{json, outcome given, previous outcome, 1 if recorded else 0}...}}.
const ackScript = `
local m = redis.call('HMGET', KEYS[1], 'acked', 'head', 'first')
local cur = tonumber(m[1]) or 0
local head = tonumber(m[2]) or 0
local first = tonumber(m[3]) or 1
local to = math.min(tonumber(ARGV[1]), head)
if to <= cur then return {} end
redis.call('HSET', KEYS[1], 'acked', string.format('%d', to))
local from = math.max(cur + 1, first)
local out = {}
if from <= to then
  local now = tonumber(ARGV[2])
  for i, v in ipairs(redis.call('LRANGE', KEYS[2], from - first, to - first)) do
    local p = string.find(v, '|', 1, true)
    local exp = tonumber(string.sub(v, 1, p - 1))
    local o, mask = ARGV[3], ARGV[4]
    if exp and exp <= now then o, mask = ARGV[5], ARGV[6] end
    local seq = string.format('%d', from + i - 1)
    local prev = tonumber(redis.call('HGET', KEYS[3], seq) or '0')
    local set = 0
    if string.sub(mask, prev + 1, prev + 1) == '1' then
      redis.call('HSET', KEYS[3], seq, o)
      set = 1
    end
    out[#out + 1] = {string.sub(v, p + 1), tonumber(o), prev, set}
  end
end
return {from, out}
`

// outcomeScript records an outcome if it replaces the one recorded.
//
//	KEYS: outcomes
//	ARGV: seq, outcome, replace mask
//
// The mask has one character per possible previous outcome, '1' where the
// new outcome replaces it (store.Outcome.Replaces decides, in Go). It
// returns {previous outcome, 1 if recorded else 0}.
const outcomeScript = `
local prev = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if string.sub(ARGV[3], prev + 1, prev + 1) ~= '1' then return {prev, 0} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {prev, 1}
`

// putDeviceScript replaces a device record and its alias entry.
//
//	KEYS: device record, alias entry
//	ARGV: encoded device, alias entry ("" for none)
//
// It returns the previous alias entry, nil if there was none.
const putDeviceScript = `
local old = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[2]) end
return old
`

// updateDeviceScript replaces a device record, and its alias entry, only
// when the record is still the one the caller read.
//
//	KEYS: device record, alias entry
//	ARGV: record as read, new record, new alias entry ("" for none)
//
// It returns {0, ""} when the record is another (or gone), else {1, the
// previous alias entry or ""}.
const updateDeviceScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, ''} end
local old = redis.call('GET', KEYS[2]) or ''
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[3]) end
return {1, old}
`

// deleteDeviceScript removes a device record and its alias entry.
//
//	KEYS: device record, alias entry
//
// It returns the alias entry the device had, nil if there was none.
const deleteDeviceScript = `
local old = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return old
`

// script is a Lua script run by EVALSHA, and by EVAL when the server does
// not know it (NOSCRIPT: a restart or SCRIPT FLUSH).
type script struct {
	lua *rueidis.Lua
	src string
	sha string
}

func newScript(src string, readOnly bool) *script {
	sum := sha1.Sum([]byte(src))
	sc := &script{src: src, sha: hex.EncodeToString(sum[:])}
	if readOnly {
		sc.lua = rueidis.NewLuaScriptReadOnly(src)
	} else {
		sc.lua = rueidis.NewLuaScript(src)
	}
	return sc
}

// exec runs the script once.
func (sc *script) exec(ctx context.Context, c rueidis.Client, keys, args []string) rueidis.RedisResult {
	return sc.lua.Exec(ctx, c, keys, args)
}

// call is one run of a script within execMulti.
type call struct {
	keys, args []string
}

// execMulti runs the script once per call, all in one pipeline. Calls that
// fail with NOSCRIPT did not run; they are sent again, once, after SCRIPT
// LOAD.
func (sc *script) execMulti(ctx context.Context, c rueidis.Client, calls []call) []rueidis.RedisResult {
	res := c.DoMulti(ctx, sc.commands(c, calls, nil)...)
	var redo []int
	for i, r := range res {
		if re, ok := rueidis.IsRedisErr(r.Error()); ok && re.IsNoScript() {
			redo = append(redo, i)
		}
	}
	if len(redo) == 0 {
		return res
	}
	if err := c.Do(ctx, c.B().ScriptLoad().Script(sc.src).Build()).Error(); err != nil {
		return res
	}
	for i, r := range c.DoMulti(ctx, sc.commands(c, calls, redo)...) {
		res[redo[i]] = r
	}
	return res
}

// commands builds EVALSHA commands for the calls at positions only, or for
// all calls when only is nil.
func (sc *script) commands(c rueidis.Client, calls []call, only []int) []rueidis.Completed {
	build := func(cl call) rueidis.Completed {
		return c.B().Evalsha().Sha1(sc.sha).Numkeys(int64(len(cl.keys))).Key(cl.keys...).Arg(cl.args...).Build()
	}
	if only == nil {
		cmds := make([]rueidis.Completed, len(calls))
		for i, cl := range calls {
			cmds[i] = build(cl)
		}
		return cmds
	}
	cmds := make([]rueidis.Completed, len(only))
	for i, j := range only {
		cmds[i] = build(calls[j])
	}
	return cmds
}

// scripts are the store's scripts.
type scripts struct {
	append, renew, target, read, advance, ack, outcome, putDevice, updateDevice, deleteDevice *script
}

func newScripts() scripts {
	return scripts{
		append:       newScript(appendScript, false),
		renew:        newScript(renewScript, false),
		target:       newScript(targetScript, true),
		read:         newScript(readScript, true),
		advance:      newScript(advanceScript, false),
		ack:          newScript(ackScript, false),
		outcome:      newScript(outcomeScript, false),
		putDevice:    newScript(putDeviceScript, false),
		updateDevice: newScript(updateDeviceScript, false),
		deleteDevice: newScript(deleteDeviceScript, false),
	}
}

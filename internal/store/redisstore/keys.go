package redisstore

import "strings"

// Key layout. Every key of a device carries the device id as its hash tag,
// so a Redis Cluster keeps them in one slot (the Lua scripts touch several
// at once), and the ring places them on one shard by the same id:
//
//	<prefix>{<device>}:dev   device record (binary, see reccodec.EncodeDevice)
//	<prefix>{<device>}:al    the device's alias entry: app id, NUL, alias
//	<prefix>{<device>}:st    stream head, hash: epoch, head, first, sent, acked
//	<prefix>{<device>}:msg   retained messages, list: "<expiry µs>|<json>"
//	<prefix>{<device>}:out   outcomes, hash: seq -> outcome
//	<prefix>alias:{<app> NUL <alias>}   set of device ids with that alias
//
// The ring places an alias set by "alias", NUL, app, NUL, alias.
const (
	sufDevice   = ":dev"
	sufAlias    = ":al"
	sufStream   = ":st"
	sufMessages = ":msg"
	sufOutcomes = ":out"
)

// deviceKey returns key suffix suf of a device.
func (s *Store) deviceKey(id, suf string) string {
	var b strings.Builder
	b.Grow(len(s.cfg.Prefix) + len(id) + 2 + len(suf))
	b.WriteString(s.cfg.Prefix)
	b.WriteByte('{')
	b.WriteString(id)
	b.WriteByte('}')
	b.WriteString(suf)
	return b.String()
}

// DeviceKey returns the Redis key of a device's record. It is the key
// name that tracked reads report to Config.Invalidator, so an L0 cache
// that keys devices by it can be invalidated by name.
func (s *Store) DeviceKey(id string) string { return s.deviceKey(id, sufDevice) }

// aliasEntry is what a device's alias entry holds.
func aliasEntry(appID, alias string) string { return appID + "\x00" + alias }

// aliasKey returns the key of the set of an app's devices with alias.
func (s *Store) aliasKey(appID, alias string) string {
	return s.cfg.Prefix + "alias:{" + aliasEntry(appID, alias) + "}"
}

// aliasRingKey is what the ring hashes to place an alias set.
func aliasRingKey(appID, alias string) string { return "alias\x00" + aliasEntry(appID, alias) }

// Package testsrv starts real servers for tests and holds small test
// helpers.
//
// StartRedis runs Debian's redis-server as a child process of the test
// binary, listening on a private unix socket and on a free TCP port of
// 127.0.0.1, with persistence off (--save "" --appendonly no) and its working
// directory in a fresh temporary directory. It waits until the server answers
// PING, and stops it and removes the directory when the test ends. Kill and
// Restart let failure tests take the server away and bring it back on the
// same address.
//
// When redis-server is not on PATH, StartRedis skips the test, except when the
// CI environment variable is set: there a missing server fails the test,
// because the documented test command installs it (apt-get install
// redis-server). LaunchRedis is the variant for TestMain; it reports a
// missing binary as ErrNoRedisServer and leaves the choice to the caller.
//
// WaitFor polls a condition until it holds or a deadline passes; tests use it
// in place of sleeping.
//
// Concurrency: the methods of Redis are safe for concurrent use, but Kill and
// Restart change what clients observe, so a test that calls them should not
// run other subtests against the same server in parallel.
package testsrv

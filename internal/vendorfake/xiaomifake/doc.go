// Package xiaomifake is a local Xiaomi (MiPush) server for tests. It serves
// POST /v3/message/regid over HTTP/2 TLS on 127.0.0.1, checks what MiPush
// checks (the "Authorization: key=<AppSecret>" header, the form fields, the
// restricted package name) and answers in MiPush's JSON shape
// {"result","code","description","reason","trace_id","data":{"id"}}.
//
// Create one with New and point the sender at URL. Script failures with the
// embedded vendorfake.Script: FailNext and FailToken take a
// vendorfake.Fault whose Reason is a MiPush code ("20301"; see the Code
// constants and NoValidTargets), answered as HTTP 200 with result "error"
// unless Status says otherwise; a Fault without Reason is a bare HTTP error
// with that Status. Read what was accepted with the embedded
// vendorfake.Recorder (Received, Count, Requests).
//
// Concurrency: all methods are safe for concurrent use.
package xiaomifake

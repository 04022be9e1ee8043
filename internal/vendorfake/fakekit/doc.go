// Package fakekit holds what the Xiaomi, OPPO, vivo, Honor and WNS fakes
// share on top of package vendorfake (which provides their HTTP/2 TLS
// server, scripted faults and message recorder): issuing access tokens that
// tests can expire, reading a scripted fault's Reason as a numeric vendor
// code, and writing JSON answers.
//
// Concurrency: Issuer is safe for concurrent use; the functions are pure.
package fakekit

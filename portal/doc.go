// Package portal serves the web portal of marketers and operators: a
// single-page UI under /portal/ and the JSON API it calls under
// /portal/api/.
//
// People sign in with an email and a password (store.Users, bcrypt hashes)
// and get a session cookie signed with the portal's key. The cookie names
// the user and the version of the user record it was issued for, so a
// password change, a role change or disabling the user ends every session
// of that user at its next request.
//
// The portal keeps no push data of its own. Everything about apps and
// pushes goes to the gateway's REST API over HTTP with the admin token,
// acting for one app at a time (httpx.AppHeader), after the portal has
// checked that the signed-in user may see that app, and may change it for
// a write. Validation, idempotency and problem documents are the
// gateway's, unchanged.
//
// Concurrency: a Portal is safe for concurrent use; it holds no state
// beyond its configuration, its HTTP client and a bounded table of login
// attempt limiters.
package portal

// Package pagetest tests the status page (GET /) in a real browser:
// headless Chromium loads the page served by api.New with the real
// authenticator, and the tests assert on the DOM it rendered.
package pagetest

// Package pagetest tests the status page (GET /) in a real browser:
// headless Chromium, driven over the DevTools protocol as a person would
// use it (clicks, typing), loads the page served by api.New with the real
// authenticator, and the tests assert on the DOM it rendered.
package pagetest

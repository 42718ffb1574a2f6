package market

// FakeClient and NewFakeClient let the external console test reuse the
// recording fake engine.
type FakeClient = fakeClient

// NewFakeClient is newClient for package market_test.
var NewFakeClient = newClient

// FixedNow is the tests' clock.
var FixedNow = fixedNow

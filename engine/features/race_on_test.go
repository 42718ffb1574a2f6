//go:build race

package features

// raceEnabled: the feature-set comparison is too slow under the race detector.
const raceEnabled = true

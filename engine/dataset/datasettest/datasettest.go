// Package datasettest finds the real vehicles_us.csv for tests and
// benchmarks, which skip cleanly when it is absent.
package datasettest

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvReal names the environment variable that points at the real file.
const EnvReal = "CARVISION_REAL_DATA"

// RealPath returns the path of the real data file, or "" when absent:
// $CARVISION_REAL_DATA first, then shared/data/vehicles_us.csv one or two
// levels above the repository root (the folder holding go.mod, found by walking up).
func RealPath() string {
	if p := os.Getenv(EnvReal); p != "" {
		if isFile(p) {
			return p
		}
		return ""
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) {
			for _, up := range []string{"..", filepath.Join("..", "..")} {
				p := filepath.Join(dir, up, "shared", "data", "vehicles_us.csv")
				if isFile(p) {
					return p
				}
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Real returns the real data path or skips tb.
func Real(tb testing.TB) string {
	tb.Helper()
	p := RealPath()
	if p == "" {
		tb.Skipf("real data not found (set %s or put it at ../shared/data/vehicles_us.csv)", EnvReal)
	}
	return p
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

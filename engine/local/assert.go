package local

import "carvision/engine"

var _ engine.Client = (*Engine)(nil)

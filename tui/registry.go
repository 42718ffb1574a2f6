package tui

import (
	"carvision/tui/page"
	"carvision/tui/pages/config"
	"carvision/tui/pages/drift"
	"carvision/tui/pages/logs"
	"carvision/tui/pages/market"
	"carvision/tui/pages/models"
	"carvision/tui/pages/monitor"
	"carvision/tui/pages/overview"
	"carvision/tui/pages/predict"
	"carvision/tui/pages/retrain"
)

// Entry registers one page: its number key, its command aliases and its
// factory. The page's id, title and key bindings come from the page itself.
type Entry struct {
	Key     string // "1"…"9", "0"
	Aliases []string
	New     page.Factory
}

// Registry lists the pages in tab order. Runbooks (key 9) and Market
// (key 0) join with one line each, e.g.
//
//	{Key: "9", Aliases: []string{"rb", "runbook"}, New: runbooks.New},
//	{Key: "0", Aliases: []string{"mkt"}, New: market.New},
//
// A page with id "runbooks" also receives page.OpenRunbookMsg.
var Registry = []Entry{
	{Key: "1", Aliases: []string{"o", "home"}, New: overview.New},
	{Key: "2", Aliases: []string{"mon", "latency"}, New: monitor.New},
	{Key: "3", Aliases: []string{"d"}, New: drift.New},
	{Key: "4", Aliases: []string{"p"}, New: predict.New},
	{Key: "5", Aliases: []string{"jobs", "repro"}, New: retrain.New},
	{Key: "6", Aliases: []string{"m", "versions"}, New: models.New},
	{Key: "7", Aliases: []string{"log"}, New: logs.New},
	{Key: "8", Aliases: []string{"cfg"}, New: config.New},
	{Key: "0", Aliases: []string{"mkt"}, New: market.New},
}

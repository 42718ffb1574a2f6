package keys

// Action ids of the global and navigation scopes.
const (
	Command   = "app.command"
	Filter    = "app.filter"
	Help      = "app.help"
	Back      = "app.back"
	Quit      = "app.quit"
	ForceQuit = "app.interrupt"
	NextPage  = "app.next_page"
	PrevPage  = "app.prev_page"
	LastPage  = "app.last_page"
	Hints     = "app.toggle_hints"
	Refresh   = "app.refresh"
	Demo      = "app.demo"

	Up     = "nav.up"
	Down   = "nav.down"
	PgUp   = "nav.page_up"
	PgDown = "nav.page_down"
	Top    = "nav.top"
	Bottom = "nav.bottom"
)

// GlobalBindings are active on every page unless a text field has focus.
// The page-number keys are added by the page registry (see GotoBinding).
func GlobalBindings() []Binding {
	return []Binding{
		{Action: Help, Keys: []string{"?"}, Short: "help", Help: "show every key of this page and the global ones", Scope: Global, Hint: true},
		{Action: Command, Keys: []string{":"}, Short: "cmd", Help: "open the command line (:predict, :promote 7, :theme mono…)", Scope: Global, Hint: true},
		{Action: Filter, Keys: []string{"/"}, Short: "filter", Help: "filter the list of this page (esc clears)", Scope: Global},
		{Action: Back, Keys: []string{"esc"}, Short: "back", Help: "close the overlay or filter, else go back to the previous page", Scope: Global},
		{Action: NextPage, Keys: []string{"tab"}, Short: "next", Help: "next page", Scope: Global},
		{Action: PrevPage, Keys: []string{"shift+tab"}, Short: "prev", Help: "previous page", Scope: Global},
		{Action: LastPage, Keys: []string{"-"}, Short: "last", Help: "toggle the last two pages", Scope: Global},
		{Action: Hints, Keys: []string{"ctrl+e"}, Short: "hints", Help: "hide or show the key-hint line", Scope: Global},
		{Action: Refresh, Keys: []string{"ctrl+r"}, Short: "refresh", Help: "refresh the data of this page now", Scope: Global},
		{Action: Demo, Keys: []string{"D"}, Short: "demo", Help: "start or stop demo traffic", Scope: Global, Needs: NeedDemo},
		{Action: Quit, Keys: []string{"q"}, Short: "quit", Help: "quit (asks first while a retrain runs)", Scope: Global, Hint: true},
		{Action: ForceQuit, Keys: []string{"ctrl+c"}, Short: "quit", Help: "quit (asks first while a retrain runs)", Scope: Global},
	}
}

// NavBindings move the selection of the focused list.
func NavBindings() []Binding {
	return []Binding{
		{Action: Up, Keys: []string{"up", "k"}, Short: "up", Help: "move up", Scope: Nav},
		{Action: Down, Keys: []string{"down", "j"}, Short: "down", Help: "move down", Scope: Nav},
		{Action: PgUp, Keys: []string{"pgup", "ctrl+u"}, Short: "page up", Help: "one page up", Scope: Nav},
		{Action: PgDown, Keys: []string{"pgdown", "ctrl+d"}, Short: "page down", Help: "one page down", Scope: Nav},
		{Action: Top, Keys: []string{"home", "g"}, Short: "top", Help: "go to the first line", Scope: Nav},
		{Action: Bottom, Keys: []string{"end", "G"}, Short: "bottom", Help: "go to the last line", Scope: Nav},
	}
}

// GotoAction is the action id that switches to page id.
func GotoAction(id string) string { return "goto." + id }

// GotoBinding is the page-number binding the registry adds for each page.
func GotoBinding(key, id, title string) Binding {
	return Binding{Action: GotoAction(id), Keys: []string{key}, Short: title, Help: "go to the " + title + " page", Scope: Global}
}

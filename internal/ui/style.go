package ui

// Style says how to render.
type Style struct {
	Colour bool
}

const (
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	cyan   = "\x1b[36m"
	reset  = "\x1b[0m"
)

func (s Style) paint(code, text string) string {
	if !s.Colour || text == "" {
		return text
	}
	return code + text + reset
}

func (s Style) Bold(t string) string   { return s.paint(bold, t) }
func (s Style) Dim(t string) string    { return s.paint(dim, t) }
func (s Style) Red(t string) string    { return s.paint(red, t) }
func (s Style) Green(t string) string  { return s.paint(green, t) }
func (s Style) Yellow(t string) string { return s.paint(yellow, t) }
func (s Style) Cyan(t string) string   { return s.paint(cyan, t) }

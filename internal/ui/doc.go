// Package ui renders what golive shows a person at a terminal: the rollout
// preview of `golive plan` (and, as the engine lands, live progress). It
// writes plain aligned text, with colour only when the caller says the
// output is a terminal.
package ui

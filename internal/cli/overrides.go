package cli

import (
	"github.com/golive-dev/golive/internal/release"
)

// The overrides a run was started with are journaled by the release core
// (release.ActionOverrides); these are the names the printing code uses.
const actionOverrides = release.ActionOverrides

var (
	encodeOverrides = release.EncodeOverrides
	decodeOverrides = release.DecodeOverrides
	overridesShown  = release.OverridesShown
)

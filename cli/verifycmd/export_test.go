package verifycmd

// What the external tests (package verifycmd_test, which drive the whole
// smki application through cli.Main) call directly.
var (
	BuildVerifier = buildVerifier
	RAFollower    = raFollower
	SetCounter    = setCounter
)
